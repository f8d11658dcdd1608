// Replaying recorded changes on the target by re-reading the source. A batch is every log entry the
// source shows in one snapshot S (the source dialect's ChangeBatch). For each table the target
// deletes every logged key (old and new keys alike), then receives the source's current rows for
// those keys, read in S as COPY: values never pass through ferry's memory as anything but the COPY stream. A TRUNCATE empties
// the table (or partition) on the target and copies it whole from S. Since every change visible in S
// is in the batch, and rows whose keys were never logged are unchanged since they were copied, the
// target equals the source at S after the batch, so unique constraints hold at every step.
//
// Before the target commits, the batch is validated in the same two transactions, where the target
// must equal the source at S: the rows of every logged key compared (count and content checksum),
// whole-copied tables compared whole, and, while time allows, units the bulk copy's validation never
// proved (proven.ts). A difference stops the replay naming table and keys, nothing committed. The
// first batch in uptime also adds the foreign keys between uptime tables, where the target session
// leaves them unfired (foreign-keys.ts): they hold at S.
//
// The target commits first, then the source deletes the batch's log entries (in S: entries logged
// after S stay). A replayer killed between the two applies those entries again, re-reading them in
// a newer snapshot: the same end state. Nothing is applied from stale values, nothing is lost.
import type { Catalog, Table } from '../catalog/types.ts';
import { rowsOf } from '../catalog/relations.ts';
import { type Client } from '../db/connect.ts';
import { columnList, qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';
import { faultPoint } from '../faults.ts';
import { copyInto } from '../transfer/pipe.ts';
import { copiedColumns, copyFormat, tableOf } from '../transfer/table-copy.ts';
import { targetSchemaOf, type SchemaPair } from '../api/settings.ts';
import type { Validation } from '../api/migration.ts';
import { schemaOf, siblingKey, tableKey } from '../catalog/schemas.ts';
import type { ChangeBatch, SourceSession, TargetDigest } from '../source/dialect.ts';
import { compareKeys, compareUnit, type ValidationUnit } from '../validate/compare.ts';
import { batchUnits, markProven, provenDdl, provenUnits } from './proven.ts';
import type { PostLoadStep } from '../catalog/ddl.ts';
import { markStepDone } from '../state/progress.ts';

export type { Lag } from '../source/dialect.ts';

/** The keys of one batch, on the target (in the bookkeeping schema: no TEMPORARY privilege needed). */
const BATCH_KEYS = 'batch_keys';
const REPLAYED = 'replayed';

export async function createReplayBookkeeping(dst: Client, bookkeeping: string): Promise<void> {
  await dst.query(
    `CREATE UNLOGGED TABLE IF NOT EXISTS ${qualified(bookkeeping, BATCH_KEYS)} (tbl text NOT NULL, key text[] NOT NULL)`,
  );
  // Changed rows replayed (and validated) per table: progress, for logs and for whoever watches.
  await dst.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(bookkeeping, REPLAYED)} (tbl text PRIMARY KEY, rows bigint NOT NULL)`,
  );
  await dst.query(provenDdl(bookkeeping));
}

/** Changed rows replayed so far, over all tables. */
export async function replayedRows(dst: Client, bookkeeping: string): Promise<number> {
  const { rows } = await dst.query<{ n: string }>(
    `SELECT coalesce(sum(rows), 0)::text AS n FROM ${qualified(bookkeeping, REPLAYED)}`,
  );
  return Number(rows[0]!.n);
}

/**
 * `(expr)::type` for each key column, so a key logged as text compares as the column's own type;
 * `onTarget`: the type as the target names it (see Column.targetType).
 */
export function keyCasts(t: Table, element: (i: number) => string, onTarget = false): string[] {
  return t.key.map((k, i) => {
    const col = t.columns.find((c) => c.name === k);
    if (!col) throw new Error(`internal: key column ${k} is not a column of ${t.name}`);
    return `(${element(i + 1)})::${onTarget ? (col.targetType ?? col.type) : col.type}`;
  });
}

/** Target: delete the rows of every key the batch logged for the table. */
export function deleteKeysSql(t: Table, schema: string, bookkeeping: string): string {
  const casts = keyCasts(t, (i) => `k.key[${i}]`, true);
  const match = t.key.map((k, i) => `x.${quoteIdent(k)} = ${casts[i]}`).join(' AND ');
  return `DELETE FROM ${rowsOf(schema, t)} x USING ${qualified(bookkeeping, BATCH_KEYS)} k WHERE k.tbl = ${quoteLiteral(tableKey(t))} AND ${match}`;
}

export function copyInSql(t: Table, targetSchema: string): string {
  return `COPY ${qualified(targetSchema, t.name)} (${columnList(copiedColumns(t))}) FROM STDIN (FORMAT ${copyFormat(t)})`;
}

/** A table as TRUNCATE names it: ONLY keeps inheritance children; a partitioned table goes with its partitions. */
const truncated = (t: Table, schema: string) =>
  `${t.partitionBy === undefined ? 'ONLY ' : ''}${qualified(schema, t.name)}`;

export const truncateSql = (t: Table, schema: string): string => `TRUNCATE ${truncated(t, schema)}`;

/** The table and every partition below it (keys, catalog/schemas.ts). */
export function subtree(catalog: Catalog, key: string): string[] {
  const below = catalog.tables
    .filter((t) => t.partitionOf !== undefined && siblingKey(t, t.partitionOf.parent) === key)
    .map(tableKey);
  return [key, ...below.flatMap((b) => subtree(catalog, b))];
}

export interface BatchPlan {
  /** Tables (plain, roots, inheritance members) whose logged keys are deleted and re-read. */
  keyed: string[];
  /** Relations truncated in the batch: emptied on the target and copied whole. */
  whole: string[];
  /** Per keyed table, the relations below it that are copied whole (their rows are not re-read by key). */
  skip: Map<string, string[]>;
}

/** What a batch does, from its log summary. Pure. */
export function planBatch(
  catalog: Catalog,
  summary: { tbl: string; truncated: boolean; keyed: boolean }[],
): BatchPlan {
  for (const s of summary)
    if (!catalog.tables.some((t) => tableKey(t) === s.tbl))
      throw new Error(`the change log names table ${s.tbl}, which is not in the migration's catalog`);
  const whole = summary.filter((s) => s.truncated).map((s) => s.tbl);
  const wholeSet = new Set(whole.flatMap((w) => subtree(catalog, w)));
  const keyed = summary.filter((s) => s.keyed && !wholeSet.has(s.tbl)).map((s) => s.tbl);
  const skip = new Map(keyed.map((k) => [k, subtree(catalog, k).filter((r) => wholeSet.has(r))]));
  // A whole copy of a relation inside another whole copy would copy its rows twice.
  const outer = whole.filter((w) => !whole.some((o) => o !== w && subtree(catalog, o).includes(w)));
  return { keyed, whole: outer, skip };
}

export interface Replayer {
  catalog: Catalog;
  shadow: string;
  /** The migrated schemas: each table is replayed into its source schema's target. */
  schemas: readonly SchemaPair[];
  /** How batches are validated; None: not at all. */
  validation: Validation;
  /** The uptime tables' validation units. */
  units: readonly ValidationUnit[];
  /** Those not proven equal yet: loaded on first use, then kept up to date by each committed batch. */
  pending?: ValidationUnit[];
  /** Foreign keys the next batch in uptime builds (foreign-keys.ts), each with the schema it runs in. */
  foreignKeys?: PostLoadStep[];
  /** How the target computes the source dialect's digest. */
  digest: TargetDigest;
}

/**
 * Applies the batch on the target, then validates it there (see the top of this file); returns the
 * units it proved. `budgetMs`: how long it may spend on units no change required it to validate.
 */
async function applyBatch(
  batch: ChangeBatch,
  dst: Client,
  r: Replayer,
  plan: BatchPlan,
  budgetMs: number,
): Promise<string[]> {
  const t0 = performance.now();
  const { catalog, shadow } = r;
  const keys = qualified(shadow, BATCH_KEYS);
  await dst.query(`TRUNCATE ${keys}`);
  await batch.keys((rows) => copyInto(dst, `COPY ${keys} (tbl, key) FROM STDIN`, rows));
  // Key casts name the columns' types as the catalog rendered them, relative to the table's target schema.
  let path = '';
  const at = async (key: string) => {
    const t = tableOf(catalog, key);
    const source = schemaOf(catalog, t);
    const target = targetSchemaOf(r, source);
    if (path !== target) await dst.query(`SET LOCAL search_path = ${quoteIdent(target)}`);
    path = target;
    return { t, source, target };
  };
  for (const name of plan.keyed) {
    const { t, target } = await at(name);
    await dst.query(deleteKeysSql(t, target, shadow));
  }
  // One statement: a table and those whose foreign keys reference it go together.
  if (plan.whole.length)
    await dst.query(
      `TRUNCATE ${plan.whole
        .map((name) => {
          const t = tableOf(catalog, name);
          return truncated(t, targetSchemaOf(r, schemaOf(catalog, t)));
        })
        .join(', ')}`,
    );
  for (const name of plan.whole) {
    const { t, source, target } = await at(name);
    await batch.whole(t, source, (rows) => copyInto(dst, copyInSql(t, target), rows));
  }
  for (const name of plan.keyed) {
    const { t, source, target } = await at(name);
    const whole = (plan.skip.get(name) ?? []).map((k) => tableOf(catalog, k));
    await batch.rows(t, source, whole, (rows) => copyInto(dst, copyInSql(t, target), rows));
  }
  await dst.query(
    `INSERT INTO ${qualified(shadow, REPLAYED)} (tbl, rows) SELECT tbl, count(*) FROM ${keys} GROUP BY tbl
       ON CONFLICT (tbl) DO UPDATE SET rows = ${qualified(shadow, REPLAYED)}.rows + excluded.rows`,
  );
  if (r.validation === 'None') return [];
  // Changed rows are compared by content whatever the validation: it costs what the changes cost.
  for (const name of plan.keyed) {
    const { t, source, target } = await at(name);
    const { rows } = await dst.query<{ key: string[] }>(`SELECT key FROM ${keys} WHERE tbl = $1`, [name]);
    await compareKeys(
      batch.reads,
      dst,
      r.digest,
      t,
      { source, target },
      rows.map((x) => x.key),
      `table ${name}, rows changed during uptime as replayed`,
    );
  }
  const whole = new Set(plan.whole.flatMap((w) => subtree(catalog, w)));
  const { due, optional } = batchUnits(r.units, r.pending ?? [], whole);
  const proven: string[] = [];
  const prove = (u: ValidationUnit) =>
    compareUnit(batch.reads, dst, r.digest, catalog, r.schemas, u, r.validation);
  for (const u of due) {
    await prove(u);
    proven.push(u.id);
  }
  for (const u of optional) {
    if (budgetMs <= 0 || (proven.length > due.length && performance.now() - t0 > budgetMs)) break;
    await prove(u);
    proven.push(u.id);
  }
  await markProven(dst, shadow, proven);
  for (const step of budgetMs > 0 ? (r.foreignKeys ?? []) : []) {
    const t1 = performance.now();
    try {
      await dst.query(`SET LOCAL search_path = ${quoteIdent(step.schema!)}`);
      await dst.query(step.sql);
      // Added NOT VALID (the table pool's way): validated here, so it holds from this batch on.
      if (step.validate) await dst.query(step.validate);
    } catch (err) {
      throw Object.assign(new Error(`building ${step.name} in uptime failed: ${(err as Error).message}`), {
        cause: err,
      });
    }
    await markStepDone(dst, shadow, step.name, (performance.now() - t1) / 1000);
  }
  return proven;
}

/**
 * Applies every change the source's log shows now, validated; returns how many log entries it
 * consumed (0: none). With `budgetMs`, it also validates units not proven yet, for about that long,
 * even when the log is empty.
 */
export async function replayBatch(
  src: SourceSession,
  dst: Client,
  r: Replayer,
  budgetMs = 0,
): Promise<number> {
  if (r.validation !== 'None' && !r.pending) {
    const proven = await provenUnits(dst, r.shadow);
    r.pending = r.units.filter((u) => !proven.has(u.id));
  }
  const batch = await src.changeBatch(budgetMs > 0 && !!(r.pending?.length || r.foreignKeys?.length));
  if (!batch) return 0;
  let dstOpen = false;
  try {
    const plan = planBatch(r.catalog, batch.summary);
    await dst.query('BEGIN');
    dstOpen = true;
    const proven = await applyBatch(batch, dst, r, plan, budgetMs);
    const n = await batch.forget();
    await dst.query('COMMIT');
    dstOpen = false;
    r.pending = r.pending?.filter((u) => !proven.includes(u.id));
    if (budgetMs > 0) r.foreignKeys = [];
    faultPoint('replay.target-committed');
    await batch.commit();
    return n;
  } catch (err) {
    if (dstOpen) await dst.query('ROLLBACK').catch(() => {});
    await batch.rollback().catch(() => {});
    throw err;
  }
}
