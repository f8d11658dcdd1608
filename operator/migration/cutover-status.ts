// The CutoverReady condition of a DowntimeOptimized Migration, from the engine's uptime state and the
// replay lag. Pure.
import type { Condition } from '../../engine/api/status.ts';
import type { Lag } from '../../engine/uptime/replay.ts';
import type { UptimeState } from '../../engine/uptime/state.ts';
import { ConditionType, Reason } from '../conditions.ts';

/** Changes pending below which the replay counts as keeping up. */
export const READY_LAG = 10_000;

export function cutoverCondition(
  uptime: UptimeState,
  lag: Lag,
  generation: number,
): Omit<Condition, 'lastTransitionTime'> {
  const pending = `${lag.pending} recorded changes pending, oldest ${lag.oldestSeconds.toFixed(1)} s`;
  const base = { type: ConditionType.CutoverReady, observedGeneration: generation };
  // The approval recorded in the shadow schema counts (it cannot be taken back), not today's spec.
  if (uptime.cutover || uptime.approved)
    return { ...base, status: 'True', reason: Reason.CutoverApproved, message: pending };
  if (uptime.lastCutoverError)
    return {
      ...base,
      status: 'False',
      reason: Reason.CutoverFailed,
      message:
        `cutover failed at ${uptime.lastCutoverError.at}: ${uptime.lastCutoverError.message}; the source is writable ` +
        'again and the replay goes on; approve again with spec.cutover.approved set to false, then true',
    };
  const ready = uptime.bulkCopied === true && lag.pending < READY_LAG;
  return {
    ...base,
    status: ready ? 'True' : 'False',
    reason: ready ? Reason.WaitingForApproval : Reason.ReplayCatchingUp,
    message: pending,
  };
}
