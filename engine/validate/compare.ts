// Validation: the same count and content digest computed for both sides. Count: count(*) on each
// server. Checksum: the validation of a unit (validateUnit) reads each side's rows by COPY, in the
// binary format where every column is built in (text otherwise), and digests them here (digest.ts:
// order-independent, no sort); in Standard mode the source's digest of each chunk was taken from the
// very rows its copy read (the fenced source does not change) and is not read again. A mismatch names
// the table, the key range and the columns that differ. Row sets compared by SQL (compareRows: the
// replay's changed rows, continuous validation's units, ferry import's units against the export's
// measures) use a sum of 64-bit slices of each row's md5, and a mismatch names the differing keys.
// Both sessions render values identically (see connect.ts: UTC, ISO dates, hex bytea), so a row's
// bytes are the same on either server.
import { targetSchemaOf, type SchemaPair } from '../api/settings.ts';
import { findTable, schemaOf, tableKey } from '../catalog/schemas.ts';
import type { Validation } from '../api/migration.ts';
import { holdsRows, rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { columnList, quoteIdent, quoteLiteral } from '../db/ident.ts';
import { describeRange, rangePredicate, type Chunk, type Range } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import { need, type Context } from '../phases/context.ts';
import { to as copyTo } from 'pg-copy-streams';
import { addDigests, CopyDigest, EMPTY_DIGEST, formatDigest, parseDigest, type Digest } from './digest.ts';

export interface Unit {
  table: string;
  range: Range | null;
}

/** A unit as validation plans it, with a stable id (continuous validation records units by it). */
export interface ValidationUnit extends Unit {
  /** The chunk's id (plan/chunks.ts), or the table's key for a table validated whole. */
  id: string;
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
export function validationUnits(catalog: Catalog, plan: Plan | undefined): ValidationUnit[] {
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

/** md5 of a row's text (alias `x`): both sessions render values identically (connect.ts). */
const rowHash = (t: Table) => `md5(ROW(${t.columns.map((c) => `x.${quoteIdent(c.name)}`).join(', ')})::text)`;
/** The text of a row's key (alias `x`), as the replay logs it. */
const keyText = (t: Table) => `ARRAY[${t.key.map((k) => `x.${quoteIdent(k)}::text`).join(', ')}]::text`;
const sumOf = (hash: string) => `coalesce(sum(('x' || substr(${hash}, 1, 16))::bit(64)::bigint), 0)::text`;

/** The rows a comparison covers on one side: `FROM <relation> x [WHERE ...]`. */
export const rowsIn = (schema: string, t: Table, where = ''): string =>
  `FROM ${rowsOf(schema, t)} x${where ? ` ${where}` : ''}`;

/** Count, and with Checksum the content checksum, of the rows `rows` selects (rowsIn). */
export function measureRowsSql(t: Table, rows: string, how: Validation): string {
  const sum = how === 'Checksum' ? sumOf(rowHash(t)) : 'NULL::text';
  return `SELECT count(*)::text AS rows, ${sum} AS checksum ${rows}`;
}

/** Count and checksum of a table's own rows (rowsOf), or of one key range of them. */
export function measureSql(schema: string, t: Table, range: Range | null, how: Validation): string {
  return measureRowsSql(t, rowsIn(schema, t, rangePredicate(range)), how);
}

/** Buckets of rows by a prefix of their key's md5: 4096, so a bucket holds few rows of even a large table. */
const BUCKET = 3;
/** Differing keys named in an error. */
const NAMED_KEYS = 5;

export interface Bucket {
  b: string;
  n: string;
  s: string;
}

/** Buckets whose count or checksum differ between the sides (or that one side lacks), in order. Pure. */
export function differingBuckets(a: readonly Bucket[], b: readonly Bucket[]): string[] {
  const other = new Map(b.map((x) => [x.b, `${x.n}/${x.s}`]));
  const mine = new Map(a.map((x) => [x.b, `${x.n}/${x.s}`]));
  return [...new Set([...mine.keys(), ...other.keys()])].filter((k) => mine.get(k) !== other.get(k)).sort();
}

export interface KeyedRow {
  key: string;
  h: string;
}

/** The keys whose rows differ, with what each side holds, for an error message (at most `limit`). Pure. */
export function describeDifferences(
  a: readonly KeyedRow[],
  b: readonly KeyedRow[],
  limit = NAMED_KEYS,
): string[] {
  const group = (rows: readonly KeyedRow[]) => {
    const m = new Map<string, string[]>();
    for (const r of rows) m.set(r.key, [...(m.get(r.key) ?? []), r.h]);
    return m;
  };
  const [src, dst] = [group(a), group(b)];
  const holds = (h: string[] | undefined) =>
    !h?.length ? 'absent' : h.length > 1 ? `${h.length} rows` : 'present';
  return [...new Set([...src.keys(), ...dst.keys()])]
    .sort()
    .filter((k) => (src.get(k) ?? []).sort().join() !== (dst.get(k) ?? []).sort().join())
    .slice(0, limit)
    .map((k) => {
      const [x, y] = [src.get(k), dst.get(k)];
      const same = x?.length === 1 && y?.length === 1;
      return `${k}: source ${holds(x)}, target ${holds(y)}${same ? ' with other values' : ''}`;
    });
}

/**
 * The first keys whose rows differ between two row sets of a keyed table: buckets by key hash on both
 * sides, then the rows of the differing buckets only. Runs where the sets were measured (same
 * snapshot or transaction), after a mismatch.
 */
async function differingKeys(
  src: Client,
  dst: Client,
  t: Table,
  rows: readonly [string, string],
): Promise<string[]> {
  if (!t.key.length) return [];
  const keyed = (r: string) => `(SELECT ${keyText(t)} AS key, ${rowHash(t)} AS h ${r}) s`;
  const buckets = (r: string) =>
    `SELECT substr(md5(key), 1, ${BUCKET}) AS b, count(*)::text AS n, ${sumOf('h')} AS s FROM ${keyed(r)} GROUP BY 1`;
  const [ba, bb] = await Promise.all([
    src.query<Bucket>(buckets(rows[0])),
    dst.query<Bucket>(buckets(rows[1])),
  ]);
  const differ = differingBuckets(ba.rows, bb.rows).slice(0, NAMED_KEYS);
  const inBuckets = (r: string) =>
    `SELECT key, h FROM ${keyed(r)} WHERE substr(md5(key), 1, ${BUCKET}) = ANY($1::text[])`;
  const [ka, kb] = await Promise.all([
    src.query<KeyedRow>(inBuckets(rows[0]), [differ]),
    dst.query<KeyedRow>(inBuckets(rows[1]), [differ]),
  ]);
  return describeDifferences(ka.rows, kb.rows);
}

/**
 * Compares the rows `rows` selects on the source and on the target (rowsIn); on a difference, throws
 * a ValidationError naming `where` and the first differing keys. Runs in whatever snapshot or
 * transaction each client is in.
 */
export async function compareRows(
  src: Client,
  dst: Client,
  t: Table,
  rows: readonly [string, string],
  how: Validation,
  where: string,
): Promise<void> {
  const [a, b] = await Promise.all([
    src.query<Measure>(measureRowsSql(t, rows[0], how)),
    dst.query<Measure>(measureRowsSql(t, rows[1], how)),
  ]);
  const [x, y] = [a.rows[0]!, b.rows[0]!];
  if (x.rows === y.rows && x.checksum === y.checksum) return;
  const keys = await differingKeys(src, dst, t, rows);
  throw new ValidationError(
    tableKey(t),
    `validation failed: ${where}: ${mismatch(x, y)}${keys.length ? `; differing keys: ${keys.join('; ')}` : ''}`,
  );
}

function mismatch(a: Measure, b: Measure, source = 'source has'): string {
  return a.rows !== b.rows
    ? `${source} ${a.rows} rows, target ${b.rows}`
    : `same row count (${a.rows}) but the content checksums differ`;
}

const unitName = (u: Unit) => `table ${u.table}${u.range ? `, ${describeRange(u.range)}` : ''}`;

/** Runs fn on the source inside an exported snapshot (or as it is, without one). */
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

/** Compares one validation unit; both clients outside any transaction, the source optionally in a snapshot. */
export async function compareUnit(
  src: Client,
  dst: Client,
  catalog: Catalog,
  schemas: readonly SchemaPair[],
  u: Unit,
  how: Validation,
  snapshot?: string,
): Promise<void> {
  const t = findTable(catalog, u.table);
  const source = schemaOf(catalog, t);
  const where = rangePredicate(u.range);
  await inSnapshot(src, snapshot, () =>
    compareRows(
      src,
      dst,
      t,
      [rowsIn(source, t, where), rowsIn(targetSchemaOf({ schemas }, source), t, where)],
      how,
      unitName(u),
    ),
  );
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
  u: ValidationUnit,
  opts: UnitOptions = {},
): Promise<void> {
  const how = ctx.settings.validation;
  if (how === 'None') return;
  const t = findTable(catalog, u.table);
  const source = schemaOf(catalog, t);
  const target = targetSchemaOf(ctx.settings, source);
  const where = unitName(u);
  if (opts.expected) {
    const [x, y] = [opts.expected(u), await measure(conns.dst, measureSql(target, t, u.range, how))];
    if (x.rows !== y.rows || x.checksum !== y.checksum)
      throw new ValidationError(
        u.table,
        `validation failed: ${where}: ${mismatch(x, y, 'the source had at export')}`,
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
    `SELECT ${t.columns.map((c, i) => `${sumOf(`md5(ROW(x.${quoteIdent(c.name)})::text)`)} AS c${i}`).join(', ')} ${rowsIn(schema, t, rangePredicate(range))}`;
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
  /** Units already proven equal (their ids): not validated again. */
  skip?: ReadonlySet<string>;
  /** Compare against the source as of this exported snapshot. */
  sourceSnapshot?: string;
  /** Called as each unit is proven equal. */
  proven?: (u: ValidationUnit, dst: Client) => Promise<void>;
}

export async function validate(
  ctx: Context,
  catalog: Catalog,
  plan: Plan | undefined,
  opts: ValidateOptions = {},
): Promise<number> {
  const how = ctx.settings.validation;
  if (how === 'None') return 0;
  const units = validationUnits(catalog, plan).filter(
    (u) => (!opts.tables || opts.tables.includes(u.table)) && !opts.skip?.has(u.id),
  );
  if (!units.length) return 0;
  const open = async () => ({
    src: await connect(ctx.source, 'validate'),
    dst: await connect(ctx.target, 'validate'),
  });
  await runPool(
    units,
    ctx.settings.parallelism,
    open,
    async (u, conns) => {
      await validateUnit(ctx, conns, catalog, u, { sourceSnapshot: opts.sourceSnapshot });
      await opts.proven?.(u, conns.dst);
    },
    async ({ src, dst }) => {
      await Promise.all([src.end(), dst.end()]);
    },
  );
  ctx.log.info({ units: units.length, how }, 'target validated equal to source');
  return units.length;
}
