import { describe, expect, it } from 'vitest';
import type { MigrationStatus } from '../../engine/api/status.ts';
import { Reason } from '../conditions.ts';
import {
  completed,
  enterPhase,
  failed,
  recordPhases,
  recovered,
  reportRecorded,
  retrying,
  transferProgressTx,
  type Tx,
} from './status.ts';

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const iso = (s: number) => t(s).toISOString();
const apply = (s: MigrationStatus, ...txs: Tx[]) => txs.reduce((a, tx) => tx(a), s);
const cond = (s: MigrationStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('status transactions', () => {
  it('enterPhase closes the open phase, opens the next, derives Ready and Progressing; terminal phases close', () => {
    const s = apply({}, enterPhase('Preparation', 'p', 1, t(0)), enterPhase('Completed', 'done', 1, t(5)));
    expect(s.phases).toEqual([
      { phase: 'Preparation', startedAt: iso(0), endedAt: iso(5) },
      { phase: 'Completed', startedAt: iso(5), endedAt: iso(5) },
    ]);
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'True',
      reason: Reason.Completed,
      observedGeneration: 1,
    });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: Reason.Completed });
    expect(s.startedAt).toBe(iso(0));
  });

  it('enterPhase into the phase it is in changes nothing but the message', () => {
    const a = enterPhase('Execution', 'x', 1, t(0))({});
    const b = enterPhase('Execution', 'x', 1, t(9))(a);
    expect(b).toEqual(a);
  });

  it('recordPhases: the engine records enter the history once; a repeated Preparation after a resume is not entered again', () => {
    const history = apply(
      {},
      recordPhases(
        [
          { phase: 'Preparation', startedAt: iso(0), endedAt: iso(1) },
          { phase: 'Extraction', startedAt: iso(1), endedAt: iso(2) },
          { phase: 'PreProcessing', startedAt: iso(2) },
        ],
        1,
      ),
    );
    const resumed = recordPhases(
      [
        { phase: 'Preparation', startedAt: iso(10), endedAt: iso(11) },
        { phase: 'PreProcessing', startedAt: iso(11), endedAt: iso(12) },
      ],
      1,
    )(history);
    expect(resumed.phases).toEqual([
      { phase: 'Preparation', startedAt: iso(0), endedAt: iso(1) },
      { phase: 'Extraction', startedAt: iso(1), endedAt: iso(2) },
      { phase: 'PreProcessing', startedAt: iso(2), endedAt: iso(12) },
    ]);
    expect(resumed.phase).toBe('PreProcessing');
  });

  it('a transient error keeps the phase, Degraded/Retrying with the error; a pass that goes through clears it', () => {
    const running = enterPhase('Execution', 'x', 2, t(0))({});
    const r = retrying('terminating connection due to administrator command', 'Execution', 2, t(1))(running);
    expect(r.phase).toBe('Execution');
    expect(cond(r, 'Degraded')).toMatchObject({
      status: 'True',
      reason: Reason.Retrying,
      message: 'retrying: terminating connection due to administrator command',
    });
    expect(r.lastError).toEqual({
      message: 'terminating connection due to administrator command',
      phase: 'Execution',
    });
    const ok = recovered(2, t(2))(r);
    expect(cond(ok, 'Degraded')).toMatchObject({ status: 'False', reason: Reason.Healthy });
    expect(recovered(2, t(3))(running)).toEqual(running);
  });

  it('recovered keeps a terminal Degraded (Failed) as it is', () => {
    const f = failed({ reason: Reason.ChecksFailed, message: 'no', phase: 'Checks' }, 1, t(0))({});
    expect(recovered(1, t(1))(f)).toEqual(f);
  });

  it('failed: phase Failed, lastError with table and phase, Degraded with the reason', () => {
    const f = failed(
      { reason: Reason.GroupFailed, message: 'gave up', phase: 'Execution', table: 'orders' },
      1,
      t(0),
    )({});
    expect(f.phase).toBe('Failed');
    expect(f.lastError).toEqual({ message: 'gave up', table: 'orders', phase: 'Execution' });
    expect(cond(f, 'Degraded')).toMatchObject({ status: 'True', reason: Reason.GroupFailed });
    expect(cond(f, 'Ready')).toMatchObject({ status: 'False', reason: Reason.Failed });
  });

  it('a report recorded before the cleanup is enough to complete later, from status alone', () => {
    const handed = reportRecorded(
      {
        tables: [{ table: 'orders', rows: 10, bytes: 100, seconds: 1, chunks: 1 } as never],
        totals: { rows: 10, bytes: 100, transferSeconds: 1 },
        downtimeSeconds: 2.5,
      },
      1,
    )(enterPhase('PostProcessing', 'x', 1, t(0))({ lastError: { message: 'old' } }));
    const done = completed('Checksum', 1, t(9))(handed);
    expect(done).toMatchObject({
      phase: 'Completed',
      report: [{ table: 'orders', rows: 10, seconds: 1 }],
      progress: { rows: 10, bytes: 100, percent: 100 },
      downtime: '2.50s',
    });
    expect(done.lastError).toBeUndefined();
    expect(cond(done, 'Ready')).toMatchObject({
      status: 'True',
      message: 'migrated 10 rows, validation Checksum',
    });
  });

  it('transfer progress: weighted by group cost, no ETA before anything moved', () => {
    const g = (group: number, percent: number, rows: number) => ({
      group,
      percent,
      rows,
      bytes: rows * 10,
      chunks: 2,
      chunksDone: percent === 100 ? 2 : 0,
      tables: [],
    });
    const start = enterPhase('Execution', 'x', 1, t(0))({});
    const costs = new Map([
      [0, 3],
      [1, 1],
    ]);
    const none = transferProgressTx([g(0, 0, 0), g(1, 0, 0)], costs, new Map(), 'shop', 1, t(10))(start);
    expect(none.progress).toEqual({ rows: 0, bytes: 0, percent: 0, bytesPerSecond: 0 });
    const some = transferProgressTx(
      [g(0, 100, 30), g(1, 0, 0)],
      costs,
      new Map([[0, 'Succeeded']]),
      'shop',
      1,
      t(10),
    )(start);
    expect(some.progress).toMatchObject({ rows: 30, bytes: 300, percent: 75, etaSeconds: 3 });
    expect(some.groups).toEqual([
      { name: 'shop-g0', phase: 'Succeeded', percent: 100 },
      { name: 'shop-g1', phase: 'Pending', percent: 0 },
    ]);
    expect(some.progressText).toMatch(/^75% \(1\/2 groups, ETA/);
  });
});
