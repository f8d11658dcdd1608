// DowntimeOptimized Execution: one Pod runs the uptime copy, the replay and, once approved, the
// cutover (`ferry run --stop-after Execution`: the engine records PostProcessing as next when it is
// done). Here: the approval from the live spec, the replay lag and CutoverReady.
import type { Context } from '../../engine/phases/context.ts';
import { replayLag } from '../../engine/transfer-status.ts';
import { approvalFromSpec } from '../../engine/uptime/approval.ts';
import { readUptime, writeUptime } from '../../engine/uptime/state.ts';
import { ConditionType, Reason } from '../conditions.ts';
import { patchMetadata } from '../kube.ts';
import { groupState } from '../tablegroup/decide.ts';
import { createPod, ownerOf } from './children.ts';
import { cutoverCondition } from './cutover-status.ts';
import { POLL_MS } from './execution.ts';
import { requeueAfter, TerminalError, type Outcome } from './outcome.ts';
import type { Observed, Pass } from './pass.ts';
import { uptimeTx } from './status.ts';

export const UPTIME_ATTEMPTS = 'ferry.dev/uptime-attempts';

export async function executeUptime(pass: Pass, ctx: Context, { pods }: Observed): Promise<Outcome> {
  const m = pass.m;
  const attempts = Number(m.metadata.annotations?.[UPTIME_ATTEMPTS] ?? 0);
  const mine = pods.filter((p) => p.metadata?.labels?.['ferry.dev/role'] === 'uptime');
  const state = groupState(mine, attempts, Date.now());
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
  if (state.kind === 'failed') throw new TerminalError(Reason.GroupFailed, state.message);
  if (state.kind === 'start' && state.notBefore <= Date.now()) {
    await createPod(pass.c, m, {
      name: `${m.metadata.name}-uptime-a${state.attempt}`,
      owner: ownerOf('Migration', m),
      args: ['run', '--stop-after', 'Execution'],
      labels: { 'ferry.dev/role': 'uptime', 'ferry.dev/attempt': String(state.attempt) },
    });
    await patchMetadata(pass.c, m, { annotations: { [UPTIME_ATTEMPTS]: String(state.attempt) } });
  }
  // A Pod that succeeded has recorded PostProcessing in the shadow schema: the next pass finishes.
  return requeueAfter(state.kind === 'succeeded' ? 0 : POLL_MS);
}
