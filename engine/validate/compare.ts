// Validation: the same count and content checksum computed on both sides. The checksum is a sum
// of 64-bit slices of each row's md5: order-independent (no sort needed) yet sensitive to a lost,
// changed or duplicated row. Both sessions render values identically (see connect.ts: UTC,
// ISO dates, hex bytea), so the text of a row is the same on either server.
import { targetSchemaOf } from '../api/settings.ts';
import { findTable, schemaOf, tableKey } from '../catalog/schemas.ts';
import type { Validation } from '../api/migration.ts';
import { holdsRows, rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';
import { describeRange, rangePredicate, type Chunk, type Range } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import type { Context } from '../phases/context.ts';
import { keyCasts } from '../uptime/replay.ts';

export interface Unit {
  table: string;
  range: Range | null;
}

export interface Measure {
  rows: string;
  checksum: string | null;
}

export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly table: string;
  constructor(table: string, message: string) {
    super(message);
    this.table = table;
  }
}

/**
 * Key-range chunks are validated one by one (a mismatch names its range); other tables as a whole;
 * partitioned tables through their partitions (they hold no rows of their own).
 */
export function validationUnits(catalog: Catalog, plan: Plan | undefined): Unit[] {
  const byTable = new Map<string, Chunk[]>();
  for (const c of plan?.groups.flatMap((g) => g.chunks) ?? [])
    byTable.set(c.table, [...(byTable.get(c.table) ?? []), c]);
  return catalog.tables.filter(holdsRows).flatMap((t) => {
    const chunks = byTable.get(tableKey(t)) ?? [];
    return chunks.length > 1 && chunks.every((c) => c.range?.kind === 'key' && c.range.portable)
      ? chunks.map((c) => ({ table: tableKey(t), range: c.range }))
      : [{ table: tableKey(t), range: null }];
  });
}

const checksumOf = (columns: string[], alias = '') =>
  `coalesce(sum(('x' || substr(md5(ROW(${columns.map((c) => `${alias}${quoteIdent(c)}`).join(', ')})::text), 1, 16))::bit(64)::bigint), 0)::text`;

/** Count and checksum of a table's own rows (rowsOf), or of one key range of them. */
export function measureSql(schema: string, t: Table, range: Range | null, how: Validation): string {
  const sum = how === 'Checksum' ? checksumOf(t.columns.map((c) => c.name)) : 'NULL::text';
  return `SELECT count(*)::text AS rows, ${sum} AS checksum FROM ${rowsOf(schema, t)} ${rangePredicate(range)}`;
}

/** The keys of a page, as rows of the key columns' own types (a JSON array of arrays of key texts in $1). */
function pageKeys(t: Table): string {
  const casts = keyCasts(t, (i) => `e ->> ${i - 1}`);
  return `(SELECT ${casts.map((c, i) => `${c} AS ${quoteIdent(t.key[i]!)}`).join(', ')} FROM jsonb_array_elements($1::jsonb) e) k`;
}

const keyJoin = (t: Table) => t.key.map((k) => `t.${quoteIdent(k)} = k.${quoteIdent(k)}`).join(' AND ');

/** Count and checksum of the rows with the given keys. */
export function measureKeysSql(schema: string, t: Table): string {
  return `SELECT count(*)::text AS rows, ${checksumOf(
    t.columns.map((c) => c.name),
    't.',
  )} AS checksum FROM ${rowsOf(schema, t)} t JOIN ${pageKeys(t)} ON ${keyJoin(t)}`;
}

/** Runs a measuring query, on the source optionally inside an exported snapshot. */
async function measure(c: Client, sql: string, params: unknown[] = [], snapshot?: string): Promise<Measure> {
  if (!snapshot) return (await c.query<Measure>(sql, params)).rows[0]!;
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    return (await c.query<Measure>(sql, params)).rows[0]!;
  } finally {
    await c.query('COMMIT');
  }
}

export interface ValidateOptions {
  /** Only these tables. */
  tables?: readonly string[];
  /** Compare against the source as of this exported snapshot. */
  sourceSnapshot?: string;
  /** Compare against these measures instead of the source's (a dump's digests: the source is not read). */
  expected?: (u: Unit) => Measure;
}

export async function validate(
  ctx: Context,
  catalog: Catalog,
  plan: Plan | undefined,
  opts: ValidateOptions = {},
): Promise<number> {
  const how = ctx.settings.validation;
  if (how === 'None') return 0;
  const units = validationUnits(catalog, plan).filter((u) => !opts.tables || opts.tables.includes(u.table));
  const expected = opts.expected;
  const open = async () => ({
    src: expected ? undefined : await connect(ctx.source, 'validate'),
    dst: await connect(ctx.target, 'validate'),
  });
  await runPool(
    units,
    ctx.settings.parallelism,
    open,
    async (u, { src, dst }) => {
      const t = findTable(catalog, u.table);
      const [a, b] = await Promise.all([
        expected
          ? expected(u)
          : measure(src!, measureSql(schemaOf(catalog, t), t, u.range, how), [], opts.sourceSnapshot),
        measure(dst, measureSql(targetSchemaOf(ctx.settings, schemaOf(catalog, t)), t, u.range, how)),
      ]);
      const where = `table ${u.table}${u.range ? `, ${describeRange(u.range)}` : ''}`;
      const source = expected ? 'the source had at export' : 'source has';
      if (a.rows !== b.rows)
        throw new ValidationError(
          u.table,
          `validation failed: ${where}: ${source} ${a.rows} rows, target ${b.rows}`,
        );
      if (a.checksum !== b.checksum)
        throw new ValidationError(
          u.table,
          `validation failed: ${where}: same row count (${a.rows}) but the content checksums differ`,
        );
    },
    async ({ src, dst }) => {
      await Promise.all([src?.end(), dst.end()]);
    },
  );
  ctx.log.info(
    { units: units.length, how },
    expected ? "target validated equal to the export's digests" : 'target validated equal to source',
  );
  return units.length;
}

const KEY_PAGE = 5000;

/**
 * Downtime-optimized validation of what changed after a bulk copy validated under its snapshot: every
 * key the replay touched, and every table it emptied and copied whole, compared on both sides.
 * Untouched rows are unchanged on both sides since the snapshot, so this proves the tables equal at a
 * cost that grows with the changes, not with the data. Keys travel as their exact text.
 */
export async function validateTouched(
  ctx: Context,
  catalog: Catalog,
  tables: readonly string[],
): Promise<number> {
  let keys = 0;
  const src = await connect(ctx.source, 'validate');
  const dst = await connect(ctx.target, 'validate');
  try {
    const { rows: whole } = await dst.query<{ tbl: string }>(
      `SELECT tbl FROM ${qualified(ctx.shadow, 'touched_all')} WHERE tbl = ANY($1)`,
      [tables],
    );
    if (whole.length) await validate(ctx, catalog, undefined, { tables: whole.map((w) => w.tbl) });
    for (const name of tables) {
      const t = findTable(catalog, name);
      const source = schemaOf(catalog, t);
      const target = targetSchemaOf(ctx.settings, source);
      for (let after: string[] = []; ;) {
        const { rows } = await dst.query<{ key: string[] }>(
          `SELECT key FROM ${qualified(ctx.shadow, 'touched')} WHERE tbl = $1 AND key > $2::text[] ORDER BY key LIMIT ${KEY_PAGE}`,
          [name, after],
        );
        if (!rows.length) break;
        after = rows[rows.length - 1]!.key;
        keys += rows.length;
        const page = JSON.stringify(rows.map((r) => r.key));
        const [a, b] = await Promise.all([
          inSchema(src, source, () => measure(src, measureKeysSql(source, t), [page])),
          inSchema(dst, target, () => measure(dst, measureKeysSql(target, t), [page])),
        ]);
        if (a.rows !== b.rows || a.checksum !== b.checksum) {
          const rows = await differingRows(src, dst, source, target, t, page);
          throw new ValidationError(
            name,
            `validation failed: table ${name}: rows changed during uptime differ (source ${a.rows} rows, target ${b.rows}); ` +
              `first differing keys: ${rows.join('; ')}`,
          );
        }
      }
    }
  } finally {
    await Promise.all([src.end(), dst.end()]);
  }
  ctx.log.info({ keys, tables: tables.length }, 'changed rows validated equal');
  return keys;
}

/** Key casts name types relative to each side's schema (user types are unqualified in the catalog). */
async function inSchema<T>(c: Client, schema: string, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
    return await fn();
  } finally {
    await c.query('COMMIT');
  }
}

/** The keys of a page whose rows differ, each with what each side holds (for the error message). */
async function differingRows(
  src: Client,
  dst: Client,
  sourceSchema: string,
  targetSchema: string,
  t: Table,
  page: string,
): Promise<string[]> {
  const sql = (schema: string) => {
    const key = `ARRAY[${t.key.map((k) => `k.${quoteIdent(k)}::text`).join(', ')}]::text`;
    return `SELECT ${key} AS key, md5(t::text) AS h FROM ${pageKeys(t)} LEFT JOIN ${rowsOf(schema, t)} t ON ${keyJoin(t)}`;
  };
  const [a, b] = await Promise.all([
    inSchema(src, sourceSchema, () =>
      src.query<{ key: string; h: string | null }>(sql(sourceSchema), [page]),
    ),
    inSchema(dst, targetSchema, () =>
      dst.query<{ key: string; h: string | null }>(sql(targetSchema), [page]),
    ),
  ]);
  const there = new Map(b.rows.map((r) => [r.key, r.h]));
  const state = (h: string | null | undefined) => (h ? 'present' : 'absent');
  return a.rows
    .filter((r) => r.h !== there.get(r.key))
    .slice(0, 5)
    .map(
      (r) =>
        `${r.key}: source ${state(r.h)}, target ${state(there.get(r.key))}${r.h && there.get(r.key) ? ' with other values' : ''}`,
    );
}
