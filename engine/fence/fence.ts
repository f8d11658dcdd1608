// Putting the write fence up and down on the source, and waiting out the application's transactions
// that wrote before it went up (their changes count: they are recorded, or copied after they end).
import { setTimeout as sleep } from 'node:timers/promises';
import { inTransaction, withClient, type Client } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import { faultPoint } from '../faults.ts';
import { need, type Context } from '../phases/context.ts';
import { multiSchema } from '../api/settings.ts';
import { schemaOf } from '../catalog/schemas.ts';
import { getState, putState } from '../state/shadow.ts';
import { fenceFunctionDdl, fenceTriggerName, WRITES_SEEN, type FenceState } from './ddl.ts';

export interface FenceRecord {
  state: FenceState;
  since: string;
}

export class FenceError extends Error {
  override name = 'FenceError';
}

/** Modes that write to the source's application tables: what holds such a lock has uncommitted writes. */
const WRITE_LOCKS = ['RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];

export async function readFence(c: Client, shadow: string): Promise<FenceRecord> {
  return (await getState<FenceRecord>(c, shadow, 'fence')) ?? { state: 'open', since: '' };
}

/** Sets the fence's state; the function and the record change in one transaction. */
export async function setFence(c: Client, ctx: Context, state: FenceState): Promise<void> {
  await inTransaction(c, async () => {
    await c.query(fenceFunctionDdl(ctx.shadow, ctx.settings.name, state));
    await putState(c, ctx.shadow, 'fence', { state, since: new Date().toISOString() } satisfies FenceRecord);
  });
}

/** Tables written to while the fence was in `detect` state. */
export async function writesSeen(c: Client, shadow: string): Promise<string[]> {
  const { rows } = await c.query<{ tbl: string }>(
    `SELECT tbl FROM ${qualified(shadow, WRITES_SEEN)} ORDER BY tbl`,
  );
  return rows.map((r) => r.tbl);
}

interface Holder {
  pid: number;
  tables: string[];
}

/** Sessions of others holding write locks on the migrated tables (pg_locks needs no privilege). */
/** `tables`: schema and name of each; `qualify` names them `schema.name` in what it returns. */
async function writeHolders(
  c: Client,
  tables: readonly { schema: string; name: string }[],
  qualify: boolean,
): Promise<Holder[]> {
  const { rows } = await c.query<Holder>(
    `SELECT l.pid, array_agg(DISTINCT CASE WHEN $4 THEN n.nspname || '.' || r.relname ELSE r.relname END
                             ORDER BY CASE WHEN $4 THEN n.nspname || '.' || r.relname ELSE r.relname END)::text[] AS tables
       FROM pg_locks l JOIN pg_class r ON r.oid = l.relation JOIN pg_namespace n ON n.oid = r.relnamespace
      WHERE l.granted AND l.mode = ANY($3) AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND (n.nspname, r.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      GROUP BY l.pid ORDER BY l.pid`,
    [tables.map((t) => t.schema), tables.map((t) => t.name), WRITE_LOCKS, qualify],
  );
  return rows;
}

/** Ends a session where the migration role may (pg_signal_backend, or its own); false where it may not. */
async function terminate(c: Client, pid: number): Promise<boolean> {
  try {
    return (await c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0]!.ok;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false;
    throw err;
  }
}

/**
 * Waits until no transaction of the application holds uncommitted writes on the migrated tables.
 * Such transactions began before the fence: they may still commit (and their changes must then be
 * migrated) or roll back. After a grace period, their sessions are ended where permitted.
 */
export async function waitForWriters(ctx: Context, c: Client): Promise<{ ended: number }> {
  const catalog = need(ctx.catalog, 'catalog');
  const tables = catalog.tables.map((t) => ({ schema: schemaOf(catalog, t), name: t.name }));
  const timeoutMs = ctx.settings.fenceWaitSeconds * 1000;
  const graceMs = Math.min(5000, timeoutMs / 2);
  const started = Date.now();
  const tried = new Set<number>();
  let ended = 0;
  for (;;) {
    const holders = await writeHolders(c, tables, multiSchema(ctx.settings));
    if (holders.length === 0) return { ended };
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      const what = holders.map((h) => `pid ${h.pid} (${h.tables.join(', ')})`).join('; ');
      throw new FenceError(
        `the application still holds uncommitted writes after ${Math.round(waited / 1000)} s: ${what}; ` +
          `end those transactions, or let ferry end them (GRANT pg_signal_backend TO ${ctx.settings.source.user}), ` +
          'or raise spec.fence.waitSeconds',
      );
    }
    if (waited >= graceMs)
      for (const h of holders.filter((x) => !tried.has(x.pid))) {
        tried.add(h.pid);
        if (await terminate(c, h.pid)) ended++;
      }
    // Most writers finish within milliseconds: look again soon, then less often.
    await sleep(Math.min(100, 10 * 2 ** Math.floor(waited / 100)));
  }
}

/**
 * Puts the fence up (refusing, or only detecting where the user guarantees a quiet source) and waits
 * for the writers it caught in flight, on `on` or a connection of its own; returns how long each
 * took. If they do not finish in time the fence comes down again and the error says why: the source
 * is never left fenced by a downtime that did not start.
 */
export async function raiseFence(
  ctx: Context,
  on?: Client,
): Promise<{ ended: number; raisedSeconds: number; waitedSeconds: number }> {
  const raise = async (c: Client) => {
    const t0 = performance.now();
    const state = ctx.settings.fenceMode === 'Detect' ? 'detect' : 'refuse';
    if ((await readFence(c, ctx.shadow)).state !== state) await setFence(c, ctx, state);
    const t1 = performance.now();
    let waited: { ended: number };
    try {
      waited = await waitForWriters(ctx, c);
    } catch (err) {
      await setFence(c, ctx, 'open');
      throw err;
    }
    faultPoint('fence.raised');
    return { ...waited, raisedSeconds: (t1 - t0) / 1000, waitedSeconds: (performance.now() - t1) / 1000 };
  };
  return on ? raise(on) : withClient(ctx.source, 'fence', raise);
}

export async function lowerFence(ctx: Context): Promise<void> {
  await withClient(ctx.source, 'fence', (c) => setFence(c, ctx, 'open'));
}

/** Detect mode: fails naming the tables that were written to since the fence went up. */
export async function assertNoWritesSeen(ctx: Context): Promise<void> {
  const seen = await withClient(ctx.source, 'fence', (c) => writesSeen(c, ctx.shadow));
  if (seen.length)
    throw new FenceError(
      `the source changed during the downtime (spec.fence.mode Detect): writes to ${seen.join(', ')}; ` +
        'the target cannot be exact: fall back and run again with the application stopped (or with the fence refusing writes)',
    );
}

/** A trigger of ferry's on a table: `schema` when the table is not in the default schema given alongside. */
export interface ExpectedTrigger {
  schema?: string;
  table: string;
  trigger: string;
}

/**
 * ferry's triggers that are missing or disabled on the given tables (the tables' owner can disable
 * them: then changes go unrecorded or the fence is open, and the run must stop rather than be wrong).
 */
export async function triggersNotFiring(
  src: Client,
  schema: string,
  expected: ExpectedTrigger[],
): Promise<string[]> {
  const { rows } = await src.query<{ table: string; trigger: string }>(
    `SELECT CASE WHEN e.sch IS NULL THEN e.tbl ELSE e.sch || '.' || e.tbl END AS table, e.trg AS trigger
       FROM unnest($2::text[], $3::text[], $4::text[]) AS e(tbl, trg, sch)
      WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = coalesce(e.sch, $1) AND c.relname = e.tbl AND g.tgname = e.trg
                           AND g.tgenabled IN ('O', 'A'))`,
    [
      schema,
      expected.map((e) => e.table),
      expected.map((e) => e.trigger),
      expected.map((e) => e.schema ?? null),
    ],
  );
  return rows.map((r) => `${r.trigger} on ${r.table}`);
}

/** Standard mode: the fence must have held through the copy (the tables' owner can disable triggers). */
export async function assertFenceHeld(ctx: Context): Promise<void> {
  const expected = need(ctx.catalog, 'catalog').tables.map((t) => ({
    ...(t.schema !== undefined ? { schema: t.schema } : {}),
    table: t.name,
    trigger: fenceTriggerName(ctx.settings.name),
  }));
  const off = await withClient(ctx.source, 'fence', (c) =>
    triggersNotFiring(c, ctx.settings.source.schema, expected),
  );
  if (off.length)
    throw new FenceError(
      `the write fence was disabled during the downtime (${off.join(', ')}): the copy may not be one instant of the source; fall back (ferry fallback) and run again`,
    );
}
