// Validation: the same count and content digest computed on both sides, per chunk or table, and in
// DowntimeOptimized per page of the keys the replay touched. The source dialect measures its side
// and says how the target computes the same digest (source/dialect.ts, TargetDigest).
import { targetSchemaOf } from '../api/settings.ts';
import { findTable, schemaOf, tableKey } from '../catalog/schemas.ts';
import { holdsRows } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { qualified, quoteIdent } from '../db/ident.ts';
import { describeRange, type Chunk, type Range } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import type { Context } from '../phases/context.ts';
import type { Measure, SharedSnapshot, SourceSession } from '../source/dialect.ts';

export interface Unit {
  table: string;
  range: Range | null;
}

export type { Measure } from '../source/dialect.ts';

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

/** Runs a measuring query on the target. */
async function measureOn(c: Client, sql: string, params: unknown[] = []): Promise<Measure> {
  return (await c.query<Measure>(sql, params)).rows[0]!;
}

export interface ValidateOptions {
  /** Only these tables. */
  tables?: readonly string[];
  /** Compare against the source as of this snapshot. */
  sourceSnapshot?: SharedSnapshot;
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
  const digest = ctx.source.digest;
  const open = async () => ({
    src: expected ? undefined : await (opts.sourceSnapshot ?? ctx.source).open('validate'),
    dst: await connect(ctx.target, 'validate'),
  });
  await runPool(
    units,
    ctx.settings.parallelism,
    open,
    async (u, { src, dst }) => {
      const t = findTable(catalog, u.table);
      const [a, b] = await Promise.all([
        expected ? expected(u) : src!.measure(t, schemaOf(catalog, t), u.range, how),
        measureOn(
          dst,
          digest.measureSql(targetSchemaOf(ctx.settings, schemaOf(catalog, t)), t, u.range, how),
        ),
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
      await Promise.all([src?.close(), dst.end()]);
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
  const digest = ctx.source.digest;
  const src = await ctx.source.open('validate');
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
        const page = rows.map((r) => r.key);
        const [a, b] = await Promise.all([
          src.measureKeys(t, source, page),
          inSchema(dst, target, () =>
            measureOn(dst, digest.measureKeysSql(target, t), [JSON.stringify(page)]),
          ),
        ]);
        if (a.rows !== b.rows || a.checksum !== b.checksum) {
          const rows = await differingRows(ctx, src, dst, source, target, t, page);
          throw new ValidationError(
            name,
            `validation failed: table ${name}: rows changed during uptime differ (source ${a.rows} rows, target ${b.rows}); ` +
              `first differing keys: ${rows.join('; ')}`,
          );
        }
      }
    }
  } finally {
    await Promise.all([src.close(), dst.end()]);
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

/** A key as PostgreSQL renders a text array: `{7,abc}`. */
const keyText = (key: readonly string[]) =>
  `{${key.map((v) => (/^[^\s{}",\\]+$/.test(v) && v.toUpperCase() !== 'NULL' ? v : JSON.stringify(v))).join(',')}}`;

/** The keys of a page whose rows differ, each with what each side holds (for the error message). */
async function differingRows(
  ctx: Context,
  src: SourceSession,
  dst: Client,
  sourceSchema: string,
  targetSchema: string,
  t: Table,
  page: string[][],
): Promise<string[]> {
  const [a, b] = await Promise.all([
    src.rowDigests(t, sourceSchema, page),
    inSchema(dst, targetSchema, async () => {
      const { rows } = await dst.query<{ n: number; h: string | null }>(
        ctx.source.digest.rowDigestsSql(targetSchema, t),
        [JSON.stringify(page)],
      );
      return new Map(rows.map((r) => [r.n, r.h]));
    }),
  ]);
  const state = (h: string | null | undefined) => (h ? 'present' : 'absent');
  return page
    .map((key, i) => ({ key, here: a[i], there: b.get(i + 1) }))
    .filter((r) => r.here !== r.there)
    .slice(0, 5)
    .map(
      (r) =>
        `${keyText(r.key)}: source ${state(r.here)}, target ${state(r.there)}${r.here && r.there ? ' with other values' : ''}`,
    );
}
