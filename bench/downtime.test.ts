import { describe, expect, it } from 'vitest';
import { settled } from './downtime.ts';

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
