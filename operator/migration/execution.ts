// Standard Execution: the plan's table groups become TableGroups with one transfer Pod each (at most
// spec.transfer.parallelism at once, read on every pass); once every group is copied, the post-load
// builds run here and the engine records the end of Execution. The downtime (the fence) begins
// before the first Pod. A system move's Export stage runs its groups' Pods into the dump volume and
// ends when every file is written; its Import stage loads each group from its copy of the dump.
import type { TableGroupStatus } from '../../engine/api/status.ts';
import type { Context } from '../../engine/phases/context.ts';
import type { SystemMoveStage } from '../../engine/api/migration.ts';
import { closeExport } from '../../engine/move/export.ts';
import { beginDowntime, finishCopy, finishImport } from '../../engine/phases/execution.ts';
import type { Plan } from '../../engine/plan/plan.ts';
import { runPhase } from '../../engine/run.ts';
import { transferProgress, type GroupProgress } from '../../engine/transfer-status.ts';
import { groupsDone, stageOf } from '../system-move.ts';
import { Reason } from '../conditions.ts';
import type { TableGroup } from '../kube.ts';
import { patchStatus } from '../status-patch.ts';
import { groupState } from '../tablegroup/decide.ts';
import { createGroup, createPod, ownerOf } from './children.ts';
import { requeueAfter, TerminalError, type Outcome } from './outcome.ts';
import type { Observed, Pass } from './pass.ts';
import { transferProgressTx } from './status.ts';

export const POLL_MS = 2000;

/** What a table group's Pod runs, and what follows the last one, for ferry run's Execution or a system move's stage. */
interface Stage {
  /** The fence goes up before the first Pod (an Import has no source: its export held the fence). */
  downtime: boolean;
  args: (group: number) => string[];
  /** Per group; `succeeded`: the groups whose Pod finished. */
  progress: (ctx: Context, plan: Plan, succeeded: ReadonlySet<number>) => Promise<GroupProgress[]>;
  /** Once every group is done, before the engine records that PostProcessing is next. */
  finish: (ctx: Context) => Promise<void>;
}

const STAGES: Record<'Run' | SystemMoveStage, Stage> = {
  // Keys, indexes, foreign keys, sequences.
  Run: {
    downtime: true,
    args: (g) => ['transfer', '--group', String(g)],
    progress: (ctx, plan) => transferProgress(ctx, plan),
    finish: finishCopy,
  },
  // The files are on the volume, which only the Pods see: a group is done when its Pod is.
  Export: {
    downtime: true,
    args: (g) => ['transfer', '--group', String(g), '--stage', 'export'],
    progress: async (_ctx, plan, succeeded) => groupsDone(plan, succeeded),
    finish: closeExport,
  },
  Import: {
    downtime: false,
    args: (g) => ['import', '--group', String(g)],
    progress: (ctx, plan) => transferProgress(ctx, plan),
    finish: finishImport,
  },
};

export async function execute(pass: Pass, ctx: Context, { groups, pods }: Observed): Promise<Outcome> {
  const plan = ctx.plan!;
  const m = pass.m;
  const stage = STAGES[stageOf(m) ?? 'Run'];
  if (groups.length === 0 && stage.downtime) await beginDowntime(ctx);
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
      args: stage.args(g.spec.group),
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
  const succeeded = new Set(states.filter((x) => x.state.kind === 'succeeded').map((x) => x.g.spec.group));
  const progress = await stage.progress(ctx, plan, succeeded);
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
  if (succeeded.size === plan.groups.length && live.length === plan.groups.length) {
    await runPhase(ctx, 'Execution', stage.finish);
    return requeueAfter(0);
  }
  return requeueAfter(next);
}
