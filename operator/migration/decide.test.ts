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

describe('holdsFinalizer', () => {
  it.each([
    [undefined, true],
    ['Execution', true],
    ['Failed', true],
    ['RollingBack', true],
    ['Completed', false],
    ['RolledBack', false],
  ] as const)('%s -> %s', (phase, held) => expect(holdsFinalizer(phase)).toBe(held));
});
