// Reconciling a Migration: walk it through the DMO phases (the engine does the database work),
// split it into TableGroups with one transfer Pod each, keep .status true, and fall back when asked
// or when the Migration is deleted before it completed. Every step is idempotent: an operator killed
// at any point and started again ends in the same result.
import type * as k8s from '@kubernetes/client-node';
import { SpecError, validateManifest } from '../../engine/api/manifest.ts';
import { API_GROUP, API_VERSION } from '../../engine/api/migration.ts';
import { resolveSettings } from '../../engine/api/settings.ts';
import type {
  Condition,
  MigrationPhase,
  MigrationStatus,
  TableGroupStatus,
} from '../../engine/api/status.ts';
import { fallback, type FallbackResult } from '../../engine/fallback.ts';
import type { Logger } from '../../engine/log.ts';
import { createContext, type Context } from '../../engine/phases/context.ts';
import { PHASES, type Phase } from '../../engine/phases/phase.ts';
import { formatDuration } from '../../engine/progress.ts';
import { readResume, runPhase } from '../../engine/run.ts';
import { ForeignShadowError } from '../../engine/state/owner.ts';
import { replayLag, transferProgress } from '../../engine/transfer-status.ts';
import { approvalFromSpec } from '../../engine/uptime/approval.ts';
import { readUptime, writeUptime } from '../../engine/uptime/state.ts';
import { beginDowntime, finishCopy } from '../../engine/phases/execution.ts';
import { cutoverCondition } from './cutover-status.ts';
import { ConditionType, Reason, setCondition } from '../conditions.ts';
import {
  code,
  customGv,
  FINALIZER,
  migrationLabel,
  patchMetadata,
  recordEvent,
  writeStatus,
  type Clients,
  type Migration,
  type TableGroup,
} from '../kube.ts';
import type { Result } from '../queue.ts';
import { groupState } from '../tablegroup/decide.ts';
import { refusedImage, transferPod } from '../tablegroup/transfer-pod.ts';
import { readRootCerts } from '../tls.ts';

export interface Observed {
  groups: TableGroup[];
  pods: k8s.V1Pod[];
}

const TERMINAL: MigrationPhase[] = ['Completed', 'Failed', 'RolledBack'];
const BEFORE_EXECUTION: Phase[] = ['Preparation', 'Extraction', 'Configuration', 'Checks', 'PreProcessing'];
const POLL_MS = 2000;

class SecretMissing extends Error {}

async function secretValue(
  c: Clients,
  ns: string,
  ref: { name: string; key: string } | undefined,
  field: string,
): Promise<string> {
  if (!ref)
    throw new SpecError(field, [`${field}.secretKeyRef: in a cluster the password must come from a Secret`]);
  try {
    const s = await c.core.readNamespacedSecret({ name: ref.name, namespace: ns });
    const v = s.data?.[ref.key];
    if (v === undefined) throw new SecretMissing(`${field}: Secret ${ns}/${ref.name} has no key ${ref.key}`);
    return Buffer.from(v, 'base64').toString('utf8');
  } catch (err) {
    if (code(err) === 404) throw new SecretMissing(`${field}: Secret ${ns}/${ref.name} not found`);
    throw err;
  }
}

/** The engine's view of the Migration: validated like a CLI manifest, passwords read from Secrets. */
async function engineContext(c: Clients, m: Migration, log: Logger): Promise<Context> {
  const manifest = validateManifest(
    {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: 'Migration',
      metadata: { name: m.metadata.name, namespace: m.metadata.namespace, uid: m.metadata.uid },
      spec: m.spec,
    },
    `migration ${m.metadata.namespace}/${m.metadata.name}`,
  );
  const ns = m.metadata.namespace!;
  const passwords = {
    source: await secretValue(c, ns, m.spec.source.password.secretKeyRef, 'spec.source.password'),
    target: await secretValue(c, ns, m.spec.target.password.secretKeyRef, 'spec.target.password'),
  };
  const rootCerts = await readRootCerts(c, m, (msg) => new SecretMissing(msg));
  return createContext(resolveSettings(manifest), log, {}, undefined, passwords, rootCerts);
}

function withPhase(
  s: MigrationStatus,
  phase: MigrationPhase,
  generation: number,
  now: Date,
  message: string,
): MigrationStatus {
  const phases = [...(s.phases ?? [])];
  const open = phases[phases.length - 1];
  if (open && !open.endedAt && open.phase !== phase) open.endedAt = now.toISOString();
  if (!open || open.phase !== phase) phases.push({ phase, startedAt: now.toISOString() });
  if (TERMINAL.includes(phase)) {
    const last = phases[phases.length - 1]!;
    last.endedAt ??= now.toISOString();
  }
  const done = phase === 'Completed';
  const failed = phase === 'Failed';
  let conditions = setCondition(
    s.conditions,
    {
      type: ConditionType.Ready,
      status: done ? 'True' : 'False',
      reason: done
        ? Reason.Completed
        : failed
          ? Reason.Failed
          : phase === 'RolledBack'
            ? Reason.RolledBack
            : Reason.Running,
      message,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Progressing,
      status: TERMINAL.includes(phase) ? 'False' : 'True',
      reason: TERMINAL.includes(phase)
        ? done
          ? Reason.Completed
          : failed
            ? Reason.Failed
            : Reason.RolledBack
        : Reason.Running,
      message,
      observedGeneration: generation,
    },
    now,
  );
  return {
    ...s,
    phase,
    phases,
    conditions,
    observedGeneration: generation,
    startedAt: s.startedAt ?? now.toISOString(),
  };
}

const degradedBy = (m: Migration, reason: string) =>
  !!m.status?.conditions?.some(
    (c) => c.type === ConditionType.Degraded && c.status === 'True' && c.reason === reason,
  );

export class Reconciler {
  private readonly c: Clients;
  private readonly log: Logger;
  private readonly observe: (ns: string, name: string) => Observed;

  constructor(c: Clients, log: Logger, observe: (ns: string, name: string) => Observed) {
    this.c = c;
    this.log = log;
    this.observe = observe;
  }

  /** Moves the Migration into a phase (history, Ready and Progressing follow), plus extra fields and conditions. */
  private async setPhase(
    m: Migration,
    phase: MigrationPhase,
    message: string,
    extra: Partial<Omit<MigrationStatus, 'conditions'>> = {},
    conditions: Omit<Condition, 'lastTransitionTime'>[] = [],
  ): Promise<Migration> {
    const before = m.status?.phase;
    const now = new Date();
    const updated = await writeStatus<Migration>(
      this.c,
      'migrations',
      m.metadata.namespace!,
      m.metadata.name!,
      (s) => {
        const next = withPhase({ ...s, ...extra }, phase, m.metadata.generation ?? 0, now, message);
        return {
          ...next,
          conditions: conditions.reduce((list, c) => setCondition(list, c, now), next.conditions ?? []),
        };
      },
    );
    if (before !== phase) {
      this.log.info(
        { namespace: m.metadata.namespace, name: m.metadata.name, phase },
        `migration phase ${phase}`,
      );
      await recordEvent(this.c, m, phase === 'Failed' ? 'Warning' : 'Normal', `Phase${phase}`, message);
    }
    return updated ?? m;
  }

  private async fail(m: Migration, err: unknown, phase?: string): Promise<Result> {
    const message = (err as Error).message ?? String(err);
    const table = (err as { table?: string }).table;
    await this.setPhase(
      m,
      'Failed',
      message,
      { lastError: { message, ...(table ? { table } : {}), ...(phase ? { phase } : {}) } },
      [
        {
          type: ConditionType.Degraded,
          status: 'True',
          reason: err instanceof SpecError ? Reason.InvalidSpec : Reason.Failed,
          message,
          observedGeneration: m.metadata.generation ?? 0,
        },
      ],
    );
    return {};
  }

  async reconcile(key: string): Promise<Result> {
    const [ns, name] = key.split('/') as [string, string];
    const m = await getFresh(this.c, ns, name);
    if (!m) return {};
    const log = this.log.child({
      namespace: ns,
      name,
      generation: m.metadata.generation,
      phase: m.status?.phase,
    });
    const phase = m.status?.phase ?? 'Pending';

    if (m.metadata.deletionTimestamp) return this.finalize(m, log);
    if (!m.metadata.finalizers?.includes(FINALIZER) && !TERMINAL.includes(phase)) {
      await patchMetadata(this.c, m, {
        finalizers: [...(m.metadata.finalizers ?? []), FINALIZER],
        resourceVersion: m.metadata.resourceVersion,
      });
      return { requeueAfterMs: 0 };
    }
    // A Failed migration still holds ferry's objects: spec.fallback cleans them up like any other phase.
    if (TERMINAL.includes(phase) && !(phase === 'Failed' && m.spec.fallback)) return {};

    let ctx: Context;
    try {
      ctx = await engineContext(this.c, m, log);
    } catch (err) {
      if (err instanceof SecretMissing) {
        await writeStatus<Migration>(this.c, 'migrations', ns, name, (s) => ({
          ...s,
          phase: s.phase ?? 'Pending',
          observedGeneration: m.metadata.generation ?? 0,
          conditions: setCondition(
            s.conditions,
            {
              type: ConditionType.Degraded,
              status: 'True',
              reason: Reason.SecretNotFound,
              message: err.message,
              observedGeneration: m.metadata.generation ?? 0,
            },
            new Date(),
          ),
        }));
        await recordEvent(this.c, m, 'Warning', Reason.SecretNotFound, err.message);
        return { requeueAfterMs: 5000 };
      }
      if (err instanceof SpecError) return this.fail(m, err);
      throw err;
    }

    if (degradedBy(m, Reason.SecretNotFound))
      await writeStatus<Migration>(this.c, 'migrations', ns, name, (s) => ({
        ...s,
        conditions: setCondition(
          s.conditions,
          {
            type: ConditionType.Degraded,
            status: 'False',
            reason: Reason.SecretFound,
            message: 'the Secrets the spec names are readable',
            observedGeneration: m.metadata.generation ?? 0,
          },
          new Date(),
        ),
      }));
    if (m.spec.fallback) return this.rollBack(m, ctx);
    const refused = refusedImage(m);
    if (refused) return this.fail(m, refused);

    try {
      if (phase === 'Pending' || BEFORE_EXECUTION.includes(phase as Phase)) return await this.prepare(m, ctx);
      const resume = await readResume(ctx);
      if (!resume)
        throw new Error(
          `the shadow schema ${ctx.shadow} is gone from the source: the migration cannot continue (fall back and start again)`,
        );
      Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan, history: resume.history });
      if (phase === 'Execution') return await this.execute(m, ctx);
      if (phase === 'PostProcessing') return await this.finish(m, ctx);
      return {};
    } catch (err) {
      const at = (err as { phase?: string }).phase ?? phase;
      log.error({ error: (err as Error).message, phase: at }, 'migration failed');
      return this.fail(m, err, at);
    }
  }

  /** Preparation to PreProcessing run here, in order; each records itself in status first. */
  private async prepare(m: Migration, ctx: Context): Promise<Result> {
    const start = Math.max(0, BEFORE_EXECUTION.indexOf(m.status?.phase as Phase));
    // Preparation to Checks change nothing and PreProcessing is idempotent: a restart repeats from the recorded phase.
    for (const p of BEFORE_EXECUTION.slice(start === 4 ? 4 : 0)) {
      m = await this.setPhase(m, p, `${p} running`);
      // The phases run in one pass: the error says which one failed.
      await runPhase(ctx, p).catch((err: unknown) => {
        throw Object.assign(err as Error, { phase: p });
      });
    }
    await this.setPhase(m, 'Execution', 'transferring table groups');
    return { requeueAfterMs: 0 };
  }

  private async execute(m: Migration, ctx: Context): Promise<Result> {
    const { groups, pods } = this.observe(m.metadata.namespace!, m.metadata.name!);
    if (ctx.settings.mode === 'DowntimeOptimized') return this.executeUptime(m, ctx, pods);
    const plan = ctx.plan!;
    // The downtime begins before the first transfer Pod: the fence goes up (idempotent).
    if (groups.length === 0) await beginDowntime(ctx);
    const existing = new Map(groups.map((g) => [g.spec.group, g]));
    for (const g of plan.groups) if (!existing.has(g.id)) await this.createGroup(m, g.id, g.chunks);
    const now = Date.now();
    let running = 0;
    let succeeded = 0;
    let next = POLL_MS;
    const live = groups.filter((g) => plan.groups.some((p) => p.id === g.spec.group));
    const states = live.map((g) => ({
      g,
      state: groupState(
        pods.filter((p) => p.metadata?.labels?.['ferry.dev/group'] === String(g.spec.group)),
        g.status?.attempts ?? 0,
        now,
      ),
    }));
    for (const { g, state } of states) {
      if (state.kind === 'running') running++;
      if (state.kind === 'succeeded') succeeded++;
      if (state.kind === 'failed') {
        await this.groupStatus(g, { phase: 'Failed', message: state.message });
        throw Object.assign(new Error(`table group ${g.metadata.name}: ${state.message}`), {
          table: g.spec.tables.join(','),
        });
      }
    }
    // Parallelism is read on every pass: a change during the run is honoured for the next Pods.
    for (const { g, state } of states) {
      if (state.kind === 'succeeded') await this.groupStatus(g, { phase: 'Succeeded' });
      if (state.kind === 'running') await this.groupStatus(g, { phase: 'Running', pod: state.pod });
      if (state.kind !== 'start') continue;
      if (state.notBefore > now) {
        next = Math.min(next, state.notBefore - now);
        continue;
      }
      if (running >= ctx.settings.parallelism) continue;
      running++;
      const podName = `${g.metadata.name}-a${state.attempt}`;
      await this.createPod(
        m,
        podName,
        {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'TableGroup',
          name: g.metadata.name!,
          uid: g.metadata.uid!,
        },
        ['transfer', '--group', String(g.spec.group)],
        {
          'ferry.dev/group': String(g.spec.group),
          'ferry.dev/attempt': String(state.attempt),
        },
      );
      await this.groupStatus(g, {
        phase: 'Running',
        pod: podName,
        attempts: state.attempt,
        ...(state.lastError ? { message: state.lastError } : {}),
      });
      if (state.lastError)
        await recordEvent(
          this.c,
          m,
          'Warning',
          Reason.TransferRetrying,
          `${g.metadata.name}: ${state.lastError}; attempt ${state.attempt}`,
        );
    }
    await this.progress(m, ctx, live);
    if (succeeded === plan.groups.length && live.length === plan.groups.length) {
      await finishCopy(ctx);
      await this.setPhase(m, 'PostProcessing', 'validating and cleaning up');
      return { requeueAfterMs: 0 };
    }
    return { requeueAfterMs: next };
  }

  /** DowntimeOptimized: one Pod runs the uptime copy, the replay and, once approved, the cutover. */
  private async executeUptime(m: Migration, ctx: Context, pods: k8s.V1Pod[]): Promise<Result> {
    const attempts = Number(m.metadata.annotations?.['ferry.dev/uptime-attempts'] ?? 0);
    const mine = pods.filter((p) => p.metadata?.labels?.['ferry.dev/role'] === 'uptime');
    const state = groupState(mine, attempts, Date.now());
    // The approval follows the live spec (the Pod's copy of it would be stale: podManifest leaves it out).
    let uptime = await readUptime(ctx);
    const approval = approvalFromSpec(uptime, m.spec.cutover?.approved === true);
    if (approval) uptime = await writeUptime(ctx, approval);
    const lag = await replayLag(ctx).catch(() => undefined);
    if (lag) {
      const generation = m.metadata.generation ?? 0;
      const condition = cutoverCondition(uptime, lag, generation);
      const before = m.status?.conditions?.find((c) => c.type === ConditionType.CutoverReady);
      await writeStatus<Migration>(this.c, 'migrations', m.metadata.namespace!, m.metadata.name!, (s) => ({
        ...s,
        observedGeneration: generation,
        lag: { pending: lag.pending, oldestSeconds: Math.round(lag.oldestSeconds * 10) / 10 },
        conditions: setCondition(s.conditions, condition, new Date()),
      }));
      if (condition.reason === Reason.CutoverFailed && before?.message !== condition.message)
        await recordEvent(this.c, m, 'Warning', Reason.CutoverFailed, condition.message);
    }
    if (state.kind === 'failed') throw new Error(state.message);
    if (state.kind === 'succeeded') {
      await this.setPhase(m, 'PostProcessing', 'validating what changed and cleaning up');
      return { requeueAfterMs: 0 };
    }
    if (state.kind === 'start' && state.notBefore <= Date.now()) {
      await this.createPod(
        m,
        `${m.metadata.name}-uptime-a${state.attempt}`,
        {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'Migration',
          name: m.metadata.name!,
          uid: m.metadata.uid!,
        },
        ['run', '--stop-after', 'Execution'],
        {
          'ferry.dev/role': 'uptime',
          'ferry.dev/attempt': String(state.attempt),
        },
      );
      await patchMetadata(this.c, m, { annotations: { 'ferry.dev/uptime-attempts': String(state.attempt) } });
    }
    return { requeueAfterMs: POLL_MS };
  }

  private async finish(m: Migration, ctx: Context): Promise<Result> {
    await runPhase(ctx, 'PostProcessing');
    const r = ctx.report!;
    await this.setPhase(
      m,
      'Completed',
      `migrated ${r.totals.rows} rows, validation ${r.validation}`,
      {
        progress: { rows: r.totals.rows, bytes: r.totals.bytes, percent: 100, etaSeconds: 0 },
        progressText: '100%',
        report: r.tables.map((t) => ({ table: t.table, rows: t.rows, seconds: t.seconds })),
        ...(r.downtimeSeconds !== undefined
          ? { downtimeSeconds: r.downtimeSeconds, downtime: `${r.downtimeSeconds.toFixed(2)}s` }
          : {}),
      },
      [
        {
          type: ConditionType.Degraded,
          status: 'False',
          reason: Reason.Healthy,
          message: 'no error',
          observedGeneration: m.metadata.generation ?? 0,
        },
      ],
    );
    await patchMetadata(this.c, m, {
      finalizers: (m.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    });
    return {};
  }

  private async progress(m: Migration, ctx: Context, groups: TableGroup[]): Promise<void> {
    const progress = await transferProgress(ctx, ctx.plan!);
    const rows = progress.reduce((a, g) => a + g.rows, 0);
    const bytes = progress.reduce((a, g) => a + g.bytes, 0);
    const est = ctx.plan!.groups.reduce((a, g) => a + g.cost, 0);
    const percent =
      Math.round(
        (10 *
          progress.reduce(
            (a, g) => a + (g.percent * (ctx.plan!.groups.find((x) => x.id === g.group)?.cost ?? 0)) / 100,
            0,
          ) *
          100) /
          Math.max(est, 1),
      ) / 10;
    const started = Date.parse(
      m.status?.phases?.find((p) => p.phase === 'Execution')?.startedAt ?? new Date().toISOString(),
    );
    const elapsed = (Date.now() - started) / 1000;
    // Unknown until something has moved: an ETA of 0:00 at the start would be a lie.
    const etaSeconds = percent > 0 ? Math.round((elapsed * (100 - percent)) / percent) : undefined;
    const done = progress.filter((g) => g.chunksDone === g.chunks).length;
    await writeStatus<Migration>(this.c, 'migrations', m.metadata.namespace!, m.metadata.name!, (s) => ({
      ...s,
      observedGeneration: m.metadata.generation ?? 0,
      progress: {
        rows,
        bytes,
        percent,
        etaSeconds,
        bytesPerSecond: elapsed > 0 ? Math.round(bytes / elapsed) : 0,
      },
      progressText: `${percent}% (${done}/${progress.length} groups, ETA ${formatDuration(etaSeconds ?? null)})`,
      groups: progress.map((g) => ({
        name: `${m.metadata.name}-g${g.group}`,
        phase: groups.find((x) => x.spec.group === g.group)?.status?.phase ?? 'Pending',
        percent: g.percent,
      })),
    }));
    for (const g of groups) {
      const p = progress.find((x) => x.group === g.spec.group);
      if (p) await this.groupStatus(g, { tables: p.tables });
    }
  }

  private async createGroup(
    m: Migration,
    id: number,
    chunks: { id: string; table: string; range: unknown }[],
  ): Promise<void> {
    const name = `${m.metadata.name}-g${id}`;
    await this.c.custom
      .createNamespacedCustomObject({
        ...customGv,
        namespace: m.metadata.namespace!,
        plural: 'tablegroups',
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'TableGroup',
          metadata: {
            name,
            labels: { [migrationLabel]: m.metadata.name!, 'app.kubernetes.io/managed-by': 'ferry' },
            ownerReferences: [
              {
                apiVersion: `${API_GROUP}/${API_VERSION}`,
                kind: 'Migration',
                name: m.metadata.name!,
                uid: m.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            migration: m.metadata.name!,
            group: id,
            tables: [...new Set(chunks.map((c) => c.table))],
            chunks: chunks.map((c) => ({ id: c.id, table: c.table, range: rangeText(c.range) })),
          },
        },
      })
      .catch((err: unknown) => {
        if (code(err) !== 409) throw err;
      });
  }

  private async createPod(
    m: Migration,
    name: string,
    owner: { apiVersion: string; kind: string; name: string; uid: string },
    args: string[],
    labels: Record<string, string>,
  ): Promise<void> {
    await this.c.core
      .createNamespacedPod({
        namespace: m.metadata.namespace!,
        body: transferPod(m, { name, owner, args, labels }),
      })
      .catch((err: unknown) => {
        if (code(err) !== 409) throw err;
      });
  }

  private async groupStatus(g: TableGroup, patch: Partial<TableGroupStatus>): Promise<void> {
    await writeStatus<TableGroup>(this.c, 'tablegroups', g.metadata.namespace!, g.metadata.name!, (s) => ({
      ...s,
      ...patch,
    }));
  }

  private async stopWork(m: Migration): Promise<void> {
    const { pods } = this.observe(m.metadata.namespace!, m.metadata.name!);
    for (const p of pods)
      await this.c.core
        .deleteNamespacedPod({
          name: p.metadata!.name!,
          namespace: m.metadata.namespace!,
          gracePeriodSeconds: 0,
        })
        .catch(() => {});
  }

  /** spec.fallback: stop the Pods, drop the shadow schema and the target objects; the source is untouched. */
  private async rollBack(m: Migration, ctx: Context): Promise<Result> {
    if (m.status?.phase === 'Completed') return {};
    m = await this.setPhase(
      m,
      'RollingBack',
      'fallback requested: stopping transfer pods, dropping what ferry created',
    );
    await this.stopWork(m);
    const r = await fallback(ctx).catch(ownsNothing);
    await this.setPhase(m, 'RolledBack', r.done ? `dropped: ${r.dropped.join(', ')}` : r.reason);
    await patchMetadata(this.c, m, {
      finalizers: (m.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    });
    return {};
  }

  /** A Migration deleted before it completed falls back first; the finalizer exists only for that. */
  private async finalize(m: Migration, log: Logger): Promise<Result> {
    if (!m.metadata.finalizers?.includes(FINALIZER)) return {};
    if (m.status?.phase !== 'Completed' && m.status?.phase !== 'RolledBack') {
      await this.stopWork(m);
      try {
        const ctx = await engineContext(this.c, m, log);
        await fallback(ctx).catch(ownsNothing);
      } catch (err) {
        if (!(err instanceof SpecError)) throw err; // an invalid spec never created anything
      }
    }
    await patchMetadata(this.c, m, {
      finalizers: (m.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    });
    return {};
  }
}

/** A shadow schema of the same name but another owner: this Migration created nothing there to drop. */
function ownsNothing(err: unknown): FallbackResult {
  if (!(err instanceof ForeignShadowError)) throw err;
  return { done: false, reason: `nothing of this migration's to drop: ${err.message}` };
}

function rangeText(range: unknown): string {
  if (!range) return 'all rows';
  const r = range as {
    kind: string;
    column?: string;
    lo?: string | null;
    hi?: string | null;
    loPage?: number | null;
    hiPage?: number | null;
  };
  return r.kind === 'key'
    ? `${r.column} in [${r.lo ?? '-inf'}, ${r.hi ?? '+inf'})`
    : `pages [${r.loPage ?? 0}, ${r.hiPage ?? 'end'})`;
}

async function getFresh(c: Clients, ns: string, name: string): Promise<Migration | undefined> {
  try {
    return (await c.custom.getNamespacedCustomObject({
      ...customGv,
      namespace: ns,
      plural: 'migrations',
      name,
    })) as Migration;
  } catch (err) {
    if (code(err) === 404) return undefined;
    throw err;
  }
}

export { PHASES };
