// Validation: the same count and content checksum computed on both sides. The checksum is a sum
// of 64-bit slices of each row's md5: order-independent (no sort needed) yet sensitive to a lost,
// changed or duplicated row. Both sessions render values identically (see connect.ts: UTC,
// ISO dates, hex bytea), so the text of a row is the same on either server.
import { targetSchemaOf, type SchemaPair } from '../api/settings.ts';
import { findTable, schemaOf, tableKey } from '../catalog/schemas.ts';
import type { Validation } from '../api/migration.ts';
import { holdsRows, rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { quoteIdent, quoteLiteral } from '../db/ident.ts';
import { describeRange, rangePredicate, type Chunk, type Range } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import type { Context } from '../phases/context.ts';

export interface Unit {
  table: string;
  range: Range | null;
}

/** A unit as validation plans it, with a stable id (continuous validation records units by it). */
export interface ValidationUnit extends Unit {
  /** The chunk's id (plan/chunks.ts), or the table's key for a table validated whole. */
  id: string;
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
    const chunks = byTable.get(tableKey(t)) ?? [];
    return chunks.length > 1 && chunks.every((c) => c.range?.kind === 'key' && c.range.portable)
      ? chunks.map((c) => ({ id: c.id, table: tableKey(t), range: c.range }))
      : [{ id: tableKey(t), table: tableKey(t), range: null }];
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

/** Compares one unit of the target with the measure the source had when it was exported (Dump). */
async function compareToExpected(
  dst: Client,
  catalog: Catalog,
  schemas: readonly SchemaPair[],
  u: Unit,
  how: Validation,
  a: Measure,
): Promise<void> {
  const t = findTable(catalog, u.table);
  const sql = measureSql(targetSchemaOf({ schemas }, schemaOf(catalog, t)), t, u.range, how);
  const b = (await dst.query<Measure>(sql)).rows[0]!;
  if (a.rows !== b.rows || a.checksum !== b.checksum)
    throw new ValidationError(
      u.table,
      `validation failed: ${unitName(u)}: ${mismatch(a, b, 'the source had at export')}`,
    );
}

export interface ValidateOptions {
  /** Only these tables. */
  tables?: readonly string[];
  /** Units already proven equal (their ids): not validated again. */
  skip?: ReadonlySet<string>;
  /** Compare against the source as of this exported snapshot. */
  sourceSnapshot?: string;
  /** Compare against these measures instead of the source's (a dump's digests: the source is not read). */
  expected?: (u: Unit) => Measure;
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
      if (expected) await compareToExpected(dst, catalog, ctx.settings.schemas, u, how, expected(u));
      else await compareUnit(src!, dst, catalog, ctx.settings.schemas, u, how, opts.sourceSnapshot);
      await opts.proven?.(u, dst);
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
