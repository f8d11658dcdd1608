// The replay loop: batch after batch until the log is empty (in the downtime) or, in uptime, until
// a cutover is approved. Transient failures (a dropped connection, a restarted server) reconnect and
// go on with backoff; the loop stops only for what retrying cannot fix (a schema change, a disabled
// trigger, a batch that does not validate), and in the downtime it leaves failures to the cutover.
import { setTimeout as sleep } from 'node:timers/promises';
import { targetPostLoadSteps } from '../catalog/ddl.ts';
import { connect, inTransaction, type Client, type Endpoint } from '../db/connect.ts';
import { doneSteps } from '../state/progress.ts';
import { dropForeignKeys, foreignKeys, replicaRole } from './foreign-keys.ts';
import { need, type Context } from '../phases/context.ts';
import type { SourceSession } from '../source/dialect.ts';
import { isTransient } from '../transfer/transfer.ts';
import { approvalFromSpec } from './approval.ts';
import { replayBatch, replayedRows, type Replayer } from './replay.ts';
import { uptimeTables, type UptimeState } from './state.ts';
import { validationUnits } from '../validate/compare.ts';

/**
 * Batches in uptime start at most this often: each costs a few statements on both servers whatever
 * its size, and the source's are the application's CPU too. The lag stays under about this long.
 */
const BATCH_INTERVAL_MS = 500;
/** How long a batch in uptime may spend proving units the bulk copy's validation left unproven. */
const PROVING_BUDGET_MS = 1000;
/** How often the uptime replay has the source reclaim its log's replayed entries (SourceSession.tidyLog). */
const TIDY_INTERVAL_MS = 2000;

function replayer(ctx: Context): Replayer {
  const catalog = need(ctx.catalog, 'catalog');
  const uptime = new Set(uptimeTables(ctx));
  return {
    catalog,
    shadow: ctx.shadow,
    schemas: ctx.settings.schemas,
    validation: ctx.settings.validation,
    units: validationUnits(catalog, ctx.plan).filter((u) => uptime.has(u.table)),
    digest: ctx.source.digest,
  };
}

/**
 * What must hold for the replay to stay exact: the same columns, ferry's triggers all firing, no
 * table emptied behind them (a source whose TRUNCATE fires no trigger).
 */
export async function assertReplayable(ctx: Context, src: SourceSession): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const drift = await src.schemaDrift(catalog, uptimeTables(ctx));
  if (drift) throw new Error(drift);
  const off = await src.bypassed(catalog, uptimeTables(ctx));
  if (off.length)
    throw new Error(
      `ferry's triggers on the source are missing or disabled (${off.join(', ')}): changes may have gone unrecorded; fall back (ferry fallback) and start again`,
    );
}

export interface Conns {
  src: SourceSession;
  dst: Client;
  /** The target session applies changes with session_replication_role = replica (foreign-keys.ts). */
  replica: boolean;
}

/**
 * The replay's target session looks rows up by key, a batch's few keys against tables of any size:
 * only nested loops over the keys' index. With a hash or merge join, which statistics left from a
 * backlog can make the planner pick, every batch would read the whole table. (The source dialect
 * reads its batches the same way: source/postgres/replay.ts.)
 */
const KEY_LOOKUPS = 'SET enable_hashjoin = off; SET enable_mergejoin = off';

async function replaySession(e: Endpoint): Promise<Client> {
  const c = await connect(e, 'replay');
  try {
    await c.query(KEY_LOOKUPS);
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
  return c;
}

export async function openConns(ctx: Context): Promise<Conns> {
  const src = await ctx.source.open('replay');
  try {
    const dst = await replaySession(ctx.target);
    return { src, dst, replica: await replicaRole(dst) };
  } catch (err) {
    await src.close().catch(() => {});
    throw err;
  }
}

/**
 * The foreign keys of the uptime tables, before the replay goes on: the next batch builds those
 * missing where the session may leave them unfired; where it may not, those built are dropped
 * (the cutover builds them).
 */
async function settleForeignKeys(ctx: Context, conns: Conns, r: Replayer, drain: boolean): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const steps = targetPostLoadSteps(catalog, ctx.settings);
  const fks = foreignKeys(catalog, steps, new Set(uptimeTables(ctx))).filter((f) => f.uptime);
  if (!fks.length) return;
  const done = await doneSteps(conns.dst, ctx.shadow);
  if (conns.replica) {
    if (!drain)
      r.foreignKeys = fks
        .filter((f) => !done.has(f.step.name))
        .map((f) => ({ ...f.step, schema: f.step.schema ?? ctx.settings.target.schema }));
    return;
  }
  const built = fks.filter((f) => done.has(f.step.name));
  if (!built.length) return;
  await inTransaction(conns.dst, () => dropForeignKeys(conns.dst, ctx, built));
  ctx.log.warn(
    { foreignKeys: built.length },
    'the target role may no longer set session_replication_role: foreign keys built in uptime dropped, the cutover builds them',
  );
}

export const closeConns = async (c: Conns): Promise<void> => {
  await Promise.all([c.src.close().catch(() => {}), c.dst.end().catch(() => {})]);
};

/** New connections, retried for as long as the failure is transient. */
export async function reopen(ctx: Context): Promise<Conns> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openConns(ctx);
    } catch (err) {
      if (!isTransient(err)) throw err;
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
    }
  }
}

/** Records an approval the spec gives (unless a failed cutover consumed it); true when one is waiting. */
async function approved(ctx: Context, src: SourceSession): Promise<boolean> {
  // On the replay's own connection: this runs every second, a new connection each time would not.
  const state = (await src.getState<UptimeState>('uptime')) ?? {};
  const patch = approvalFromSpec(state, ctx.settings.cutoverApproved);
  if (!patch) return state.approved === true;
  await src.putState('uptime', { ...state, ...patch });
  return patch.approved === true || state.approved === true;
}

/**
 * Replays until the log is empty (`drain`, in the downtime) or, in uptime, until a cutover is
 * approved. Transient failures reconnect and go on, with backoff; in the downtime they are the
 * cutover's to handle.
 */
export async function replay(ctx: Context, conns: Conns, drain: boolean): Promise<void> {
  const r = replayer(ctx);
  let lastReport = 0;
  let lastCheck = 0;
  let lastTidy = performance.now();
  let failures = 0;
  let settled = false;
  for (;;) {
    try {
      if (!settled) {
        await settleForeignKeys(ctx, conns, r, drain);
        settled = true;
      }
      if (performance.now() - lastCheck > 1000) {
        lastCheck = performance.now();
        await assertReplayable(ctx, conns.src);
        if (!drain && (await approved(ctx, conns.src))) return;
      }
      const unproven = r.pending?.length;
      const started = performance.now();
      const n = await replayBatch(conns.src, conns.dst, r, drain ? 0 : PROVING_BUDGET_MS);
      failures = 0;
      if (!drain && n > 0 && performance.now() - lastTidy > TIDY_INTERVAL_MS) {
        lastTidy = performance.now();
        await conns.src.tidyLog?.();
      }
      if (unproven && r.pending?.length === 0)
        ctx.log.info(
          { units: r.units.length },
          'every chunk of the uptime tables proven equal to the source',
        );
      if (performance.now() - lastReport > 5000 || (drain && n === 0)) {
        lastReport = performance.now();
        const l = await conns.src.lag();
        ctx.observer.lag?.(l);
        ctx.log.info(
          {
            pendingChanges: l.pending,
            replayedRows: await replayedRows(conns.dst, ctx.shadow),
            oldestChangeSeconds: Math.round(l.oldestSeconds * 10) / 10,
            ...(r.pending?.length ? { unprovenChunks: r.pending.length } : {}),
          },
          'replaying recorded changes',
        );
      }
      if (drain) {
        if (n === 0) return;
      } else await sleep(Math.max(0, BATCH_INTERVAL_MS - (performance.now() - started)));
    } catch (err) {
      if (drain || !isTransient(err)) throw err;
      failures++;
      ctx.log.warn({ error: (err as Error).message, attempt: failures }, 'replay interrupted, reconnecting');
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      await closeConns(conns);
      Object.assign(conns, await reopen(ctx));
      settled = false;
    }
  }
}
