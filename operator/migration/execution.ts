// Standard Execution: the plan's table groups become TableGroups with one transfer Pod each (at most
// spec.transfer.parallelism at once, read on every pass); once every group is copied, the post-load
// builds run here and the engine records the end of Execution. The downtime (the fence) begins
// before the first Pod.
import type { TableGroupStatus } from '../../engine/api/status.ts';
import type { Context } from '../../engine/phases/context.ts';
import { beginDowntime, finishCopy } from '../../engine/phases/execution.ts';
import { runPhase } from '../../engine/run.ts';
import { transferProgress } from '../../engine/transfer-status.ts';
import { Reason } from '../conditions.ts';
import type { TableGroup } from '../kube.ts';
import { patchStatus } from '../status-patch.ts';
import { groupState } from '../tablegroup/decide.ts';
import { createGroup, createPod, ownerOf } from './children.ts';
import { requeueAfter, TerminalError, type Outcome } from './outcome.ts';
import type { Observed, Pass } from './pass.ts';
import { transferProgressTx } from './status.ts';

export const POLL_MS = 2000;

export async function execute(pass: Pass, ctx: Context, { groups, pods }: Observed): Promise<Outcome> {
  const plan = ctx.plan!;
  const m = pass.m;
  if (groups.length === 0) await beginDowntime(ctx);
  const existing = new Set(groups.map((g) => g.spec.group));
  for (const g of plan.groups) if (!existing.has(g.id)) await createGroup(pass.c, m, g.id, g.chunks);
  const now = Date.now();
  const live = groups.filter((g) => plan.groups.some((p) => p.id === g.spec.group));
  const states = live.map((g) => ({
    g,
    state: groupState(
      pods.filter((p) => p.metadata?.labels?.['ferry.dev/group'] === String(g.spec.group)),
      g.status?.attempts ?? 0,
      now,
    ),
  }));
  const changes = new Map<TableGroup, Partial<TableGroupStatus>>();
  const change = (g: TableGroup, patch: Partial<TableGroupStatus>) =>
    changes.set(g, { ...changes.get(g), ...patch });
  const failed = states.find((s) => s.state.kind === 'failed');
  let running = states.filter((s) => s.state.kind === 'running').length;
  let next = POLL_MS;
  for (const { g, state } of states) {
    if (state.kind === 'succeeded') change(g, { phase: 'Succeeded' });
    if (state.kind === 'running') change(g, { phase: 'Running', pod: state.pod });
    if (state.kind === 'failed') change(g, { phase: 'Failed', message: state.message });
    if (state.kind !== 'start' || failed) continue;
    if (state.notBefore > now) {
      next = Math.min(next, state.notBefore - now);
      continue;
    }
    if (running >= ctx.settings.parallelism) continue;
    running++;
    const name = `${g.metadata.name}-a${state.attempt}`;
    await createPod(pass.c, m, {
      name,
      owner: ownerOf('TableGroup', g),
      args: ['transfer', '--group', String(g.spec.group)],
      labels: { 'ferry.dev/group': String(g.spec.group), 'ferry.dev/attempt': String(state.attempt) },
    });
    change(g, {
      phase: 'Running',
      pod: name,
      attempts: state.attempt,
      ...(state.lastError ? { message: state.lastError } : {}),
    });
    if (state.lastError)
      await pass.event(
        'Warning',
        Reason.TransferRetrying,
        `${g.metadata.name}: ${state.lastError}; attempt ${state.attempt}`,
      );
  }
  const progress = await transferProgress(ctx, plan);
  for (const g of live) {
    const p = progress.find((x) => x.group === g.spec.group);
    if (p) change(g, { tables: p.tables });
  }
  for (const [g, patch] of changes)
    await patchStatus(pass.c, 'tablegroups', g, [(s) => ({ ...s, ...patch })]);
  const phases = new Map(
    live.map((g) => [g.spec.group, changes.get(g)?.phase ?? g.status?.phase ?? 'Pending']),
  );
  pass.update(
    transferProgressTx(
      progress,
      new Map(plan.groups.map((g) => [g.id, g.cost])),
      phases,
      pass.name,
      pass.generation,
      new Date(),
    ),
  );
  if (failed?.state.kind === 'failed')
    throw new TerminalError(
      Reason.GroupFailed,
      `table group ${failed.g.metadata.name}: ${failed.state.message}`,
      failed.g.spec.tables.join(','),
    );
  const copied = states.filter((s) => s.state.kind === 'succeeded').length;
  if (copied === plan.groups.length && live.length === plan.groups.length) {
    // Keys, indexes, foreign keys, sequences; then the engine records that PostProcessing is next.
    await runPhase(ctx, 'Execution', finishCopy);
    return requeueAfter(0);
  }
  return requeueAfter(next);
}
