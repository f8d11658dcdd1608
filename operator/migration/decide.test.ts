import { describe, expect, it } from 'vitest';
import type { MigrationStatus } from '../../engine/api/status.ts';
import type { Phase } from '../../engine/phases/phase.ts';
import { holdsFinalizer, nextStep, type Step } from './decide.ts';

const gone = {
  kind: 'lost',
  message:
    'the shadow schema ferry_shop is gone from the source: the migration cannot continue (fall back and start again)',
};
const withReport: MigrationStatus = {
  phase: 'PostProcessing',
  report: [{ table: 't', rows: 1, seconds: 0 }],
};

describe('nextStep: the engine shadow state decides, status only fills the gap after the cleanup', () => {
  const cases: [string, Phase | undefined, MigrationStatus | undefined, Step][] = [
    [
      'a new Migration runs every phase before Execution',
      undefined,
      undefined,
      {
        kind: 'prepare',
        phases: ['Preparation', 'Extraction', 'Configuration', 'Checks', 'PreProcessing'],
      },
    ],
    [
      'killed before the shadow schema existed: from the start again, whatever status says',
      undefined,
      { phase: 'PreProcessing' },
      {
        kind: 'prepare',
        phases: ['Preparation', 'Extraction', 'Configuration', 'Checks', 'PreProcessing'],
      },
    ],
    [
      'killed in PreProcessing after the shadow schema: Preparation again, then PreProcessing with the stored catalog',
      'PreProcessing',
      { phase: 'PreProcessing' },
      {
        kind: 'prepare',
        phases: ['Preparation', 'PreProcessing'],
      },
    ],
    [
      'PreProcessing done but status not written: Execution',
      'Execution',
      { phase: 'PreProcessing' },
      { kind: 'execute' },
    ],
    ['in Execution', 'Execution', { phase: 'Execution' }, { kind: 'execute' }],
    [
      'the uptime Pod finished while status still says Execution',
      'PostProcessing',
      { phase: 'Execution' },
      { kind: 'finish' },
    ],
    ['killed in PostProcessing before the cleanup', 'PostProcessing', withReport, { kind: 'finish' }],
    [
      'killed after the cleanup, the report recorded: completes from status',
      undefined,
      withReport,
      { kind: 'complete' },
    ],
    ['shadow schema gone in Execution without a report', undefined, { phase: 'Execution' }, gone as Step],
    [
      'shadow schema gone in PostProcessing without a report',
      undefined,
      { phase: 'PostProcessing' },
      gone as Step,
    ],
  ];
  it.each(cases)('%s', (_, resumeAt, status, step) => {
    expect(nextStep(resumeAt, status, 'ferry_shop')).toEqual(step);
  });
});

describe('nextStep of a system move', () => {
  const exporting = (confirmed: boolean) => ({ stage: 'Export' as const, confirmed });
  const importing = { stage: 'Import' as const, confirmed: false };
  const cases: [
    string,
    Phase | undefined,
    MigrationStatus | undefined,
    Parameters<typeof nextStep>[3],
    Step,
  ][] = [
    [
      'Export: the phases before Execution run here, as for ferry run',
      undefined,
      undefined,
      exporting(false),
      { kind: 'prepare', phases: ['Preparation', 'Extraction', 'Configuration', 'Checks', 'PreProcessing'] },
    ],
    ['Export: its groups export', 'Execution', { phase: 'Execution' }, exporting(false), { kind: 'execute' }],
    [
      'Export: every file written, no confirmation yet: it waits',
      'PostProcessing',
      { phase: 'Execution' },
      exporting(false),
      { kind: 'exported' },
    ],
    [
      'Export: confirmed: the shadow schema goes',
      'PostProcessing',
      { phase: 'Exported' },
      exporting(true),
      { kind: 'finish' },
    ],
    [
      'Export: confirmed and the shadow schema already gone (Completed never written): completes',
      undefined,
      { phase: 'PostProcessing' },
      exporting(true),
      { kind: 'complete' },
    ],
    [
      'Export: confirmed, its shadow schema gone before PostProcessing showed in status: completes',
      undefined,
      { phase: 'Exported' },
      exporting(true),
      { kind: 'complete' },
    ],
    [
      'Export: the shadow schema gone while it waited, unconfirmed: lost, not exported again',
      undefined,
      { phase: 'Exported' },
      exporting(false),
      gone as Step,
    ],
    ['Import: a new one opens the dump in a Pod', undefined, undefined, importing, { kind: 'open' }],
    [
      'Import: killed before its Pod recorded Execution: the Pod again',
      'PreProcessing',
      { phase: 'Preparation' },
      importing,
      { kind: 'open' },
    ],
    ['Import: its groups import', 'Execution', { phase: 'Preparation' }, importing, { kind: 'execute' }],
    ['Import: PostProcessing here', 'PostProcessing', { phase: 'Execution' }, importing, { kind: 'finish' }],
    ['Import: the report recorded, bookkeeping gone', undefined, withReport, importing, { kind: 'complete' }],
    [
      'Import: its bookkeeping gone mid-way',
      undefined,
      { phase: 'Execution' },
      importing,
      {
        kind: 'lost',
        message:
          'the bookkeeping schema ferry_shop is gone from the target: the import cannot continue (fall back and start again)',
      },
    ],
  ];
  it.each(cases)('%s', (_, resumeAt, status, move, step) => {
    expect(nextStep(resumeAt, status, 'ferry_shop', move)).toEqual(step);
  });
});

describe('holdsFinalizer', () => {
  it.each([
    [undefined, true],
    ['Execution', true],
    ['Failed', true],
    ['RollingBack', true],
    ['Exported', true],
    ['Completed', false],
    ['RolledBack', false],
  ] as const)('%s -> %s', (phase, held) => expect(holdsFinalizer(phase)).toBe(held));
});
