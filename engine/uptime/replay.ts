// Replaying recorded changes on the target by re-reading the source. A batch is every log entry the
// source shows in one REPEATABLE READ snapshot S. For each table the target deletes every logged key
// (old and new keys alike), then receives the source's current rows for those keys, read in S with
// COPY: values never pass through ferry's memory as anything but the COPY stream. A TRUNCATE empties
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
import { pipeCopy } from '../transfer/pipe.ts';
import { binaryCopy, copiedColumns, tableOf } from '../transfer/table-copy.ts';
import { LOG_TABLE } from './record.ts';
import { targetSchemaOf, type SchemaPair } from '../api/settings.ts';
import type { Validation } from '../api/migration.ts';
import { schemaOf, siblingKey, tableKey } from '../catalog/schemas.ts';
import { compareRows, compareUnit, rowsIn, type ValidationUnit } from '../validate/compare.ts';
import { batchUnits, markProven, provenDdl, provenUnits } from './proven.ts';
import type { PostLoadStep } from '../catalog/ddl.ts';
import { markStepDone } from '../state/progress.ts';

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

const keyRow = (t: Table, alias: string) => `(${t.key.map((k) => `${alias}.${quoteIdent(k)}`).join(', ')})`;

/** Source: the keys logged for the table, as rows of its key columns' own types. */
const loggedKeysSql = (t: Table, shadow: string) =>
  `SELECT ${keyCasts(t, (i) => `k.key[${i}]`).join(', ')} FROM ${qualified(shadow, LOG_TABLE)} k WHERE k.tbl = ${quoteLiteral(tableKey(t))} AND k.op <> 'T'`;

/** Target: the batch's keys for the table, as rows of its key columns' types there. */
const batchKeysSql = (t: Table, bookkeeping: string) =>
  `SELECT ${keyCasts(t, (i) => `k.key[${i}]`, true).join(', ')} FROM ${qualified(bookkeeping, BATCH_KEYS)} k WHERE k.tbl = ${quoteLiteral(tableKey(t))}`;

/** Target: delete the rows of every key the batch logged for the table. */
export function deleteKeysSql(t: Table, schema: string, bookkeeping: string): string {
  const casts = keyCasts(t, (i) => `k.key[${i}]`, true);
  const match = t.key.map((k, i) => `x.${quoteIdent(k)} = ${casts[i]}`).join(' AND ');
  return `DELETE FROM ${rowsOf(schema, t)} x USING ${qualified(bookkeeping, BATCH_KEYS)} k WHERE k.tbl = ${quoteLiteral(tableKey(t))} AND ${match}`;
}

/**
 * Source: the current rows of the keys logged for the table, minus rows living in relations that the
 * batch copies whole (a truncated partition of a partitioned table).
 */
export function rowsForKeysSql(
  t: Table,
  sourceSchema: string,
  shadow: string,
  wholeCopied: string[],
): string {
  const cols = columnList(copiedColumns(t));
  const keys = loggedKeysSql(t, shadow);
  const skip = wholeCopied.length
    ? ` AND x.tableoid <> ALL (ARRAY[${wholeCopied.map((r) => `${quoteLiteral(qualified(sourceSchema, r))}::regclass`).join(', ')}])`
    : '';
  const format = binaryCopy(t) ? 'binary' : 'text';
  return `COPY (SELECT ${cols} FROM ${rowsOf(sourceSchema, t)} x WHERE ${keyRow(t, 'x')} IN (${keys})${skip}) TO STDOUT (FORMAT ${format})`;
}

export function copyWholeSql(t: Table, sourceSchema: string): string {
  return `COPY (SELECT ${columnList(copiedColumns(t))} FROM ${rowsOf(sourceSchema, t)}) TO STDOUT (FORMAT ${binaryCopy(t) ? 'binary' : 'text'})`;
}

export function copyInSql(t: Table, targetSchema: string): string {
  return `COPY ${qualified(targetSchema, t.name)} (${columnList(copiedColumns(t))}) FROM STDIN (FORMAT ${binaryCopy(t) ? 'binary' : 'text'})`;
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

export interface Lag {
  pending: number;
  oldestSeconds: number;
}

export async function lag(src: Client, shadow: string): Promise<Lag> {
  const { rows } = await src.query<{ n: string; age: number | null }>(
    `SELECT count(*)::text AS n, extract(epoch FROM clock_timestamp() - min(at))::float8 AS age FROM ${qualified(shadow, LOG_TABLE)}`,
  );
  return { pending: Number(rows[0]!.n), oldestSeconds: Math.max(0, rows[0]!.age ?? 0) };
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
}

/**
 * Applies the batch on the target, then validates it there (see the top of this file); returns the
 * units it proved. `budgetMs`: how long it may spend on units no change required it to validate.
 */
async function applyBatch(
  src: Client,
  dst: Client,
  r: Replayer,
  plan: BatchPlan,
  budgetMs: number,
): Promise<string[]> {
  const t0 = performance.now();
  const { catalog, shadow } = r;
  const keys = qualified(shadow, BATCH_KEYS);
  await dst.query(`TRUNCATE ${keys}`);
  await pipeCopy(
    src,
    dst,
    `COPY (SELECT DISTINCT tbl, key FROM ${qualified(shadow, LOG_TABLE)} WHERE op <> 'T') TO STDOUT`,
    `COPY ${keys} (tbl, key) FROM STDIN`,
  );
  // Key casts name the columns' types as the catalog rendered them, relative to the table's schema on each side.
  let paths = ['', ''];
  const at = async (key: string) => {
    const t = tableOf(catalog, key);
    const source = schemaOf(catalog, t);
    const target = targetSchemaOf(r, source);
    if (paths[0] !== source) await src.query(`SET LOCAL search_path = ${quoteIdent(source)}`);
    if (paths[1] !== target) await dst.query(`SET LOCAL search_path = ${quoteIdent(target)}`);
    paths = [source, target];
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
    await pipeCopy(src, dst, copyWholeSql(t, source), copyInSql(t, target));
  }
  for (const name of plan.keyed) {
    const { t, source, target } = await at(name);
    const whole = (plan.skip.get(name) ?? []).map((k) => tableOf(catalog, k).name);
    await pipeCopy(src, dst, rowsForKeysSql(t, source, shadow, whole), copyInSql(t, target));
  }
  await dst.query(
    `INSERT INTO ${qualified(shadow, REPLAYED)} (tbl, rows) SELECT tbl, count(*) FROM ${keys} GROUP BY tbl
       ON CONFLICT (tbl) DO UPDATE SET rows = ${qualified(shadow, REPLAYED)}.rows + excluded.rows`,
  );
  if (r.validation === 'None') return [];
  // Changed rows are compared by content whatever the validation: it costs what the changes cost.
  for (const name of plan.keyed) {
    const { t, source, target } = await at(name);
    const rows = (schema: string, keySql: string) =>
      rowsIn(schema, t, `WHERE ${keyRow(t, 'x')} IN (${keySql})`);
    await compareRows(
      src,
      dst,
      t,
      [rows(source, loggedKeysSql(t, shadow)), rows(target, batchKeysSql(t, shadow))],
      'Checksum',
      `table ${name}, rows changed during uptime as replayed`,
    );
  }
  const whole = new Set(plan.whole.flatMap((w) => subtree(catalog, w)));
  const { due, optional } = batchUnits(r.units, r.pending ?? [], whole);
  const proven: string[] = [];
  for (const u of due) {
    await compareUnit(src, dst, catalog, r.schemas, u, r.validation);
    proven.push(u.id);
  }
  for (const u of optional) {
    if (budgetMs <= 0 || (proven.length > due.length && performance.now() - t0 > budgetMs)) break;
    await compareUnit(src, dst, catalog, r.schemas, u, r.validation);
    proven.push(u.id);
  }
  await markProven(dst, shadow, proven);
  for (const step of budgetMs > 0 ? (r.foreignKeys ?? []) : []) {
    const t1 = performance.now();
    try {
      await dst.query(`SET LOCAL search_path = ${quoteIdent(step.schema!)}`);
      await dst.query(step.sql);
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
export async function replayBatch(src: Client, dst: Client, r: Replayer, budgetMs = 0): Promise<number> {
  await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  let dstOpen = false;
  try {
    if (r.validation !== 'None' && !r.pending) {
      const proven = await provenUnits(dst, r.shadow);
      r.pending = r.units.filter((u) => !proven.has(u.id));
    }
    const { rows } = await src.query<{ tbl: string; truncated: boolean; keyed: boolean }>(
      `SELECT tbl, bool_or(op = 'T') AS truncated, bool_or(op <> 'T') AS keyed FROM ${qualified(r.shadow, LOG_TABLE)} GROUP BY tbl ORDER BY tbl`,
    );
    if (rows.length === 0 && !(budgetMs > 0 && (r.pending?.length || r.foreignKeys?.length))) {
      await src.query('COMMIT');
      return 0;
    }
    const plan = planBatch(r.catalog, rows);
    await dst.query('BEGIN');
    dstOpen = true;
    const proven = await applyBatch(src, dst, r, plan, budgetMs);
    const { rowCount } = await src.query(`DELETE FROM ${qualified(r.shadow, LOG_TABLE)}`);
    await dst.query('COMMIT');
    dstOpen = false;
    r.pending = r.pending?.filter((u) => !proven.includes(u.id));
    if (budgetMs > 0) r.foreignKeys = [];
    faultPoint('replay.target-committed');
    await src.query('COMMIT');
    return rowCount ?? 0;
  } catch (err) {
    if (dstOpen) await dst.query('ROLLBACK').catch(() => {});
    await src.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Column lists as the catalog saw them; a difference means someone changed the table's schema. */
export async function schemaDrift(
  src: Client,
  catalog: Catalog,
  tables: readonly string[],
): Promise<string | undefined> {
  await src.query('BEGIN');
  try {
    // Types render relative to the table's own schema, as the catalog captured them.
    const bySchema = new Map<string, Table[]>();
    for (const key of tables) {
      const t = tableOf(catalog, key);
      bySchema.set(schemaOf(catalog, t), [...(bySchema.get(schemaOf(catalog, t)) ?? []), t]);
    }
    for (const [schema, list] of bySchema) {
      await src.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
      const { rows } = await src.query<{ name: string; cols: string | null }>(
        `SELECT t.name, (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
           FROM unnest($2::text[]) AS t(name)
           LEFT JOIN pg_class c ON c.relname = t.name AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)`,
        [schema, list.map((t) => t.name)],
      );
      for (const row of rows) {
        const t = list.find((x) => x.name === row.name)!;
        const expected = t.columns.map((c) => `${c.name} ${c.type}`).join(', ');
        if (row.cols !== expected)
          return `the schema of table ${tableKey(t)} changed while its changes were being recorded (${row.cols === null ? 'table dropped' : `columns now: ${row.cols}`}); the replay cannot continue: fall back (ferry fallback) and start again`;
      }
    }
    return undefined;
  } finally {
    await src.query('COMMIT');
  }
}
