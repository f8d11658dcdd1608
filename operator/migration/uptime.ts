// DowntimeOptimized Execution: one Pod runs the uptime copy, the replay and, once approved, the
// cutover (`ferry run --stop-after Execution`: the engine records PostProcessing as next when it is
// done). Here: the approval from the live spec, the replay lag and CutoverReady.
import type { Context } from '../../engine/phases/context.ts';
import { replayLag } from '../../engine/transfer-status.ts';
import { approvalFromSpec } from '../../engine/uptime/approval.ts';
import { readUptime, writeUptime } from '../../engine/uptime/state.ts';
import { ConditionType, Reason } from '../conditions.ts';
import { cutoverCondition } from './cutover-status.ts';
import { POLL_MS } from './execution.ts';
import { requeueAfter, type Outcome } from './outcome.ts';
import { ownPod } from './own-pod.ts';
import type { Observed, Pass } from './pass.ts';
import { uptimeTx } from './status.ts';

export async function executeUptime(pass: Pass, ctx: Context, observed: Observed): Promise<Outcome> {
  const m = pass.m;
  // The approval follows the live spec (the Pod's copy of it would be stale: podManifest leaves it out).
  let uptime = await readUptime(ctx);
  const approval = approvalFromSpec(uptime, m.spec.cutover?.approved === true);
  if (approval) uptime = await writeUptime(ctx, approval);
  // The lag is shown, not acted on: a failed read leaves the last one in status.
  const lag = await replayLag(ctx).catch(() => undefined);
  if (lag) {
    const condition = cutoverCondition(uptime, lag, pass.generation);
    const before = m.status?.conditions?.find((c) => c.type === ConditionType.CutoverReady);
    pass.update(uptimeTx(lag, condition, pass.generation, new Date()));
    if (condition.reason === Reason.CutoverFailed && before?.message !== condition.message)
      await pass.event('Warning', Reason.CutoverFailed, condition.message);
  }
  const state = await ownPod(pass, observed, 'uptime', ['run', '--stop-after', 'Execution']);
  // A Pod that succeeded has recorded PostProcessing in the shadow schema: the next pass finishes.
  return requeueAfter(state.kind === 'succeeded' ? 0 : POLL_MS);
}
