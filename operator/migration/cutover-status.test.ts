import { describe, expect, it } from 'vitest';
import { Reason } from '../conditions.ts';
import { cutoverCondition } from './cutover-status.ts';

const lag = (pending: number) => ({ pending, oldestSeconds: 1.25 });

describe('CutoverReady', () => {
  it('catches up until the bulk copy is done and the replay keeps up', () => {
    expect(cutoverCondition({}, lag(0), 3)).toMatchObject({
      status: 'False',
      reason: Reason.ReplayCatchingUp,
    });
    expect(cutoverCondition({ bulkCopied: true }, lag(50_000), 3).reason).toBe(Reason.ReplayCatchingUp);
    expect(cutoverCondition({ bulkCopied: true }, lag(12), 3)).toMatchObject({
      status: 'True',
      reason: Reason.WaitingForApproval,
      observedGeneration: 3,
      message: '12 recorded changes pending, oldest 1.3 s',
    });
  });

  it('shows a recorded approval and a running cutover as approved', () => {
    expect(cutoverCondition({ bulkCopied: true, approved: true }, lag(1), 1).reason).toBe(
      Reason.CutoverApproved,
    );
    expect(cutoverCondition({ bulkCopied: true, cutover: true }, lag(1), 1).reason).toBe(
      Reason.CutoverApproved,
    );
  });

  it('a failed cutover says why and how to approve again, until a new approval', () => {
    const failed = {
      bulkCopied: true,
      approvalConsumed: true,
      lastCutoverError: { message: 'validation failed: table t', at: '2026-11-29T16:00:00Z' },
    };
    const c = cutoverCondition(failed, lag(3), 2);
    expect(c).toMatchObject({ status: 'False', reason: Reason.CutoverFailed });
    expect(c.message).toMatch(/validation failed: table t.*writable again.*false, then true/);
    expect(cutoverCondition({ ...failed, approved: true }, lag(3), 2).reason).toBe(Reason.CutoverApproved);
  });
});
