// Execution in DowntimeOptimized mode (DMO's uptime migration): the bulk copy of the uptime tables
// runs from one exported snapshot while the application keeps writing, and is validated against that
// same snapshot; then the recorded changes are replayed, again and again, until the cutover is
// approved. The cutover locks the source, replays the last delta and copies the downtime tables;
// PostProcessing then validates what changed and removes triggers and shadow schema.
import { setTimeout as sleep } from 'node:timers/promises';
import { postLoadSteps } from '../catalog/ddl.ts';
import { refreshSequences } from '../catalog/extract.ts';
import { connect, withClient, type Client } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import { matchesAny } from '../plan/select.ts';
import { need, type Context } from '../phases/context.ts';
import { doneChunks } from '../state/progress.ts';
import { getState, putState } from '../state/shadow.ts';
import { afterLoad, stageOf } from '../transfer/after-load.ts';
import { transferGroups } from '../transfer/transfer.ts';
import { validate } from '../validate/compare.ts';
import { runPool } from '../util/pool.ts';
import { LOG_TABLE } from './record.ts';
import { lockWrites } from './lock.ts';
import { lag, replayBatch, schemaDrift, type Replayer } from './replay.ts';

export interface UptimeState {
  bulkCopied?: boolean;
  /** The bulk copy was validated under its snapshot: the cutover validates only changed rows. */
  bulkValidated?: boolean;
  cutoverApproved?: boolean;
  locked?: boolean;
  lockedAt?: string;
  downtime?: { step: string; seconds: number }[];
}

export const uptimeTables = (ctx: Context) =>
  need(ctx.catalog, 'catalog')
    .tables.map((t) => t.name)
    .filter((t) => matchesAny(t, ctx.settings.uptimeTables));

export const downtimeTables = (ctx: Context) =>
  need(ctx.catalog, 'catalog')
    .tables.map((t) => t.name)
    .filter((t) => !matchesAny(t, ctx.settings.uptimeTables));

export async function readUptime(ctx: Context): Promise<UptimeState> {
  return withClient(
    ctx.source,
    'state',
    async (c) => (await getState<UptimeState>(c, ctx.shadow, 'uptime')) ?? {},
  );
}

export async function writeUptime(ctx: Context, patch: Partial<UptimeState>): Promise<UptimeState> {
  return withClient(ctx.source, 'state', async (c) => {
    const next = { ...((await getState<UptimeState>(c, ctx.shadow, 'uptime')) ?? {}), ...patch };
    await putState(c, ctx.shadow, 'uptime', next);
    return next;
  });
}

/** The bulk copy from one exported snapshot; log entries already in the snapshot are discarded with it. */
async function bulkCopy(ctx: Context): Promise<void> {
  const tables = uptimeTables(ctx);
  const started = await withClient(
    ctx.target,
    'transfer',
    async (c) => (await doneChunks(c, ctx.shadow)).size > 0,
  );
  if (started) {
    // A killed bulk copy lost its snapshot: the rest is copied from fresh ones, and the whole log since
    // the triggers went in is replayed (each entry carries the full row, so the result converges).
    await transferGroups(ctx, { tables });
    await writeUptime(ctx, { bulkCopied: true, bulkValidated: false });
    return;
  }
  const coordinator = await connect(ctx.source, 'snapshot');
  try {
    await coordinator.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const { rows } = await coordinator.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
    const snapshot = rows[0]!.s;
    await coordinator.query(`DELETE FROM ${qualified(ctx.shadow, LOG_TABLE)}`);
    ctx.log.info(
      { tables: tables.length },
      'bulk copy from a consistent snapshot while the application writes',
    );
    await transferGroups(ctx, { tables, snapshot });
    await validate(ctx, need(ctx.catalog, 'catalog'), ctx.plan, { tables, sourceSnapshot: snapshot });
    await coordinator.query('COMMIT');
  } catch (err) {
    await coordinator.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await coordinator.end().catch(() => {});
  }
  await writeUptime(ctx, { bulkCopied: true, bulkValidated: ctx.settings.validation !== 'None' });
}

/** Keys, constraints and indexes of the uptime tables (the replay upserts by key); FKs wait for the cutover. */
async function buildUptime(ctx: Context): Promise<void> {
  const tables = uptimeTables(ctx);
  const steps = postLoadSteps(need(ctx.catalog, 'catalog'), ctx.settings.target.schema).filter(
    (s) => stageOf(s) === 'build' && s.table !== null && tables.includes(s.table),
  );
  await afterLoad(ctx, steps);
  await runPool(
    tables,
    ctx.settings.parallelism,
    () => connect(ctx.target, 'analyze'),
    async (t, c) => void (await c.query(`ANALYZE ${qualified(ctx.settings.target.schema, t)}`)),
    (c) => c.end(),
  );
}

function replayer(ctx: Context): Replayer {
  return {
    catalog: need(ctx.catalog, 'catalog'),
    shadow: ctx.shadow,
    targetSchema: ctx.settings.target.schema,
    batchSize: 5000,
  };
}

/** Replays until the log is empty (`drain`) or, in uptime, until the cutover is approved. */
async function replay(ctx: Context, src: Client, dst: Client, drain: boolean): Promise<void> {
  const r = replayer(ctx);
  const tables = uptimeTables(ctx);
  let lastReport = 0;
  let lastCheck = 0;
  for (;;) {
    if (performance.now() - lastCheck > 2000) {
      lastCheck = performance.now();
      const drift = await schemaDrift(src, r.catalog, tables);
      if (drift) throw new Error(drift);
      if (!drain && (ctx.settings.cutoverApproved || (await readUptime(ctx)).cutoverApproved)) return;
    }
    const n = await replayBatch(src, dst, r);
    if (performance.now() - lastReport > 5000 || (drain && n === 0)) {
      lastReport = performance.now();
      const l = await lag(src, ctx.shadow);
      ctx.observer.lag?.(l);
      ctx.log.info(
        { pendingChanges: l.pending, oldestChangeSeconds: Math.round(l.oldestSeconds * 10) / 10 },
        'replaying recorded changes',
      );
    }
    if (n === 0) {
      if (drain) return;
      await sleep(200);
    }
  }
}

export async function executeDowntimeOptimized(ctx: Context): Promise<void> {
  let state = await readUptime(ctx);
  if (!state.bulkCopied) await bulkCopy(ctx);
  await buildUptime(ctx);
  const src = await connect(ctx.source, 'replay');
  const dst = await connect(ctx.target, 'replay');
  try {
    state = await readUptime(ctx);
    if (!state.locked) {
      ctx.log.info(
        'waiting for cutover approval (spec.cutover.approved, or ferry cutover) while replaying changes',
      );
      await replay(ctx, src, dst, false);
      const t0 = performance.now();
      const { terminated } = await lockWrites(src, ctx.settings.source.database);
      state = await writeUptime(ctx, {
        cutoverApproved: true,
        locked: true,
        lockedAt: new Date().toISOString(),
        downtime: [{ step: 'lock source writes', seconds: (performance.now() - t0) / 1000 }],
      });
      ctx.log.warn({ terminatedSessions: terminated }, 'cutover: source locked for writes, downtime started');
    }
    await downtimeStep(ctx, 'replay final delta', () => replay(ctx, src, dst, true));
  } finally {
    await Promise.all([src.end().catch(() => {}), dst.end().catch(() => {})]);
  }
  const rest = downtimeTables(ctx);
  if (rest.length)
    await downtimeStep(ctx, 'copy downtime tables', () =>
      transferGroups(ctx, { tables: rest }).then(() => undefined),
    );
  await downtimeStep(ctx, 'keys, foreign keys, sequences', async () => {
    ctx.catalog = await withClient(ctx.source, 'sequences', (c) =>
      refreshSequences(c, need(ctx.catalog, 'catalog')),
    );
    await afterLoad(ctx);
  });
}

/** Runs a step of the downtime and records how long it took. */
export async function downtimeStep(ctx: Context, step: string, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const state = await readUptime(ctx);
  await writeUptime(ctx, {
    downtime: [...(state.downtime ?? []).filter((d) => d.step !== step), { step, seconds }],
  });
  ctx.log.info({ step, seconds: Math.round(seconds * 1000) / 1000 }, `downtime step done: ${step}`);
}
