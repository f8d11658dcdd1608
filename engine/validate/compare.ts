// Validation: the same count and content digest computed for both sides. Count: count(*) on each
// server. Checksum: each side's rows read by COPY in the binary format where every column is built in
// (text otherwise) and digested here (digest.ts: order-independent, no sort); in Standard mode the
// source's digest of each chunk was taken from the very rows its copy read (the fenced source does not
// change) and is not read again. Both sessions render values identically (see connect.ts: UTC, ISO
// dates, hex bytea), so a row's bytes are the same on either server. A mismatch names the table, the
// key range and the columns that differ.
import { targetSchemaOf } from '../api/settings.ts';
import { findTable, schemaOf, tableKey } from '../catalog/schemas.ts';
import type { Validation } from '../api/migration.ts';
import { holdsRows, rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { columnList, qualified, quoteIdent, quoteLiteral } from '../db/ident.ts';
import { describeRange, rangePredicate, type Chunk, type Range } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import { need, type Context } from '../phases/context.ts';
import { keyCasts } from '../uptime/replay.ts';
import { to as copyTo } from 'pg-copy-streams';
import { addDigests, CopyDigest, EMPTY_DIGEST, formatDigest, parseDigest, type Digest } from './digest.ts';

export interface Unit {
  /** The chunk's id for a key range, else the table's key. */
  id: string;
  table: string;
  range: Range | null;
  /** The chunks whose rows it covers: their source digests, recorded by the copy, add up to its own. */
  chunks: string[];
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
    const table = tableKey(t);
    const chunks = byTable.get(table) ?? [];
    return chunks.length > 1 && chunks.every((c) => c.range?.kind === 'key' && c.range.portable)
      ? chunks.map((c) => ({ id: c.id, table, range: c.range, chunks: [c.id] }))
      : [{ id: table, table, range: null, chunks: chunks.map((c) => c.id) }];
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

/** Runs `fn` on the source inside an exported snapshot, when there is one. */
async function inSnapshot<T>(c: Client, snapshot: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!snapshot) return fn();
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    return await fn();
  } finally {
    await c.query('COMMIT');
  }
}

/** Runs a measuring query, on the source optionally inside an exported snapshot. */
const measure = (c: Client, sql: string, params: unknown[] = [], snapshot?: string): Promise<Measure> =>
  inSnapshot(c, snapshot, async () => (await c.query<Measure>(sql, params)).rows[0]!);

/** A table's columns that the digest reads, in their order: every one, generated columns included. */
const digestColumns = (t: Table) => t.columns.map((c) => c.name);

/** Binary COPY (faster) carries type oids: only when every column is built in. */
const digestBinary = (t: Table) => t.columns.every((c) => c.builtinType);

/**
 * Whether the copy of a table's chunks can record their source digest: it reads every column (none is
 * generated) in the format the digest reads.
 */
export const digestsOnCopy = (t: Table): boolean => t.columns.every((c) => c.generated === null);

/** Digests of the rows a COPY query returns. */
export async function copyDigest(c: Client, sql: string, binary: boolean): Promise<Digest> {
  const d = new CopyDigest(binary);
  for await (const b of c.query(copyTo(sql)) as AsyncIterable<Buffer>) d.update(b);
  return d.result();
}

/** The COPY reading a unit's rows on one side (a query: COPY of a table refuses generated columns). */
const readSql = (t: Table, schema: string, range: Range | null): string =>
  `COPY (SELECT ${columnList(digestColumns(t))} FROM ${rowsOf(schema, t)} ${rangePredicate(range)}) TO STDOUT (FORMAT ${digestBinary(t) ? 'binary' : 'text'})`;

export interface UnitOptions {
  /** Compare against the source as of this exported snapshot. */
  sourceSnapshot?: string;
  /** Source digests recorded by the copy, by chunk (formatDigest); used when a unit's every chunk has one. */
  recorded?: ReadonlyMap<string, string | undefined>;
  /**
   * ferry import: the measures the export took (measureSql, in each chunk's transaction) instead of
   * the source's, which is not read; the target is measured by the same query.
   */
  expected?: (u: Unit) => Measure;
}

/** Validates one unit; throws a ValidationError naming where the target differs. */
export async function validateUnit(
  ctx: Context,
  conns: { src?: Client; dst: Client },
  catalog: Catalog,
  u: Unit,
  opts: UnitOptions = {},
): Promise<void> {
  const how = ctx.settings.validation;
  if (how === 'None') return;
  const t = findTable(catalog, u.table);
  const source = schemaOf(catalog, t);
  const target = targetSchemaOf(ctx.settings, source);
  const where = `table ${u.table}${u.range ? `, ${describeRange(u.range)}` : ''}`;
  if (opts.expected) {
    const [x, y] = [opts.expected(u), await measure(conns.dst, measureSql(target, t, u.range, how))];
    if (x.rows !== y.rows)
      throw new ValidationError(
        u.table,
        `validation failed: ${where}: the source had at export ${x.rows} rows, target ${y.rows}`,
      );
    if (x.checksum !== y.checksum)
      throw new ValidationError(
        u.table,
        `validation failed: ${where}: same row count (${x.rows}) but the content checksums differ`,
      );
    return;
  }
  const src = need(conns.src, 'source connection');
  let a: Digest;
  let b: Digest;
  if (how === 'Count') {
    const [x, y] = await Promise.all([
      measure(src, measureSql(source, t, u.range, how), [], opts.sourceSnapshot),
      measure(conns.dst, measureSql(target, t, u.range, how)),
    ]);
    [a, b] = [
      { ...EMPTY_DIGEST, rows: Number(x.rows) },
      { ...EMPTY_DIGEST, rows: Number(y.rows) },
    ];
  } else {
    const recorded = u.chunks.map((c) => opts.recorded?.get(c));
    const fromCopy = digestsOnCopy(t) && u.chunks.length > 0 && recorded.every((d) => d !== undefined);
    const read = (c: Client, schema: string) => copyDigest(c, readSql(t, schema, u.range), digestBinary(t));
    [a, b] = await Promise.all([
      fromCopy
        ? recorded.map((d) => parseDigest(d!)).reduce(addDigests, EMPTY_DIGEST)
        : inSnapshot(src, opts.sourceSnapshot, () => read(src, source)),
      read(conns.dst, target),
    ]);
  }
  if (a.rows !== b.rows)
    throw new ValidationError(
      u.table,
      `validation failed: ${where}: source has ${a.rows} rows, target ${b.rows}`,
    );
  if (formatDigest(a) !== formatDigest(b)) {
    const columns = await differingColumns(
      { src, dst: conns.dst },
      t,
      source,
      target,
      u.range,
      opts.sourceSnapshot,
    );
    throw new ValidationError(
      u.table,
      `validation failed: ${where}: same row count (${a.rows}) but the content differs ` +
        (columns.length
          ? `in column ${columns.join(', ')}`
          : '(each column holds the same values: they moved between rows)'),
    );
  }
}

/** After a mismatch: the columns whose values differ, compared one by one (each column's checksum). */
async function differingColumns(
  conns: { src: Client; dst: Client },
  t: Table,
  source: string,
  target: string,
  range: Range | null,
  snapshot?: string,
): Promise<string[]> {
  const sql = (schema: string) =>
    `SELECT ${t.columns.map((c, i) => `${checksumOf([c.name])} AS c${i}`).join(', ')} FROM ${rowsOf(schema, t)} ${rangePredicate(range)}`;
  const [a, b] = await Promise.all([
    inSnapshot(
      conns.src,
      snapshot,
      async () => (await conns.src.query<Record<string, string>>(sql(source))).rows[0]!,
    ),
    conns.dst.query<Record<string, string>>(sql(target)).then((r) => r.rows[0]!),
  ]);
  return t.columns.filter((_, i) => a[`c${i}`] !== b[`c${i}`]).map((c) => c.name);
}

export interface ValidateOptions {
  /** Only these tables. */
  tables?: readonly string[];
  /** Compare against the source as of this exported snapshot. */
  sourceSnapshot?: string;
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
  const open = async () => ({
    src: await connect(ctx.source, 'validate'),
    dst: await connect(ctx.target, 'validate'),
  });
  await runPool(
    units,
    ctx.settings.parallelism,
    open,
    (u, conns) => validateUnit(ctx, conns, catalog, u, { sourceSnapshot: opts.sourceSnapshot }),
    async ({ src, dst }) => {
      await Promise.all([src.end(), dst.end()]);
    },
  );
  ctx.log.info({ units: units.length, how }, 'target validated equal to source');
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
