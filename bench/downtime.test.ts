import { describe, expect, it } from 'vitest';
import { settled, slowdown } from './downtime.ts';

const line = (msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level: 30, msg, ...extra });

describe('settled', () => {
  const waiting = line(
    'waiting for cutover approval (spec.cutover.approved, or ferry cutover) while replaying changes',
  );
  const replaying = (extra = {}) => line('replaying recorded changes', { pendingChanges: 3, ...extra });

  it('waits for the cutover wait, then for a progress line naming no unproven chunk', () => {
    expect(settled([line('copying'), replaying()].join('\n'))).toBe(false);
    expect(settled([waiting].join('\n'))).toBe(false);
    expect(settled([waiting, replaying({ unprovenChunks: 4 })].join('\n'))).toBe(false);
    expect(settled([waiting, replaying({ unprovenChunks: 4 }), replaying()].join('\n'))).toBe(true);
    expect(settled([waiting, replaying(), replaying({ unprovenChunks: 1 })].join('\n'))).toBe(false);
  });
});

describe('slowdown', () => {
  const w = (transactions: number, meanMs: number) => ({ transactions, meanMs, p95Ms: 0 });
  it('sets the application against the control load at the same time, before and after pooled', () => {
    const before = { app: w(100, 2), control: w(20, 1) };
    const after = { app: w(300, 1), control: w(60, 0.5) };
    // Without ferry the application ran at 1.25 ms, 2x the control's 0.625 ms.
    const d = slowdown({ app: w(200, 3), control: w(40, 1.25) }, before, after);
    expect(d.plain).toBeCloseTo(1.4);
    // A drifting machine: the control slowed as much, so recording cost 20%.
    expect(d.againstControl).toBeCloseTo(0.2);
  });
});
