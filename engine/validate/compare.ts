// Validation: the same count and content digest computed for both sides; the source dialect
// measures its side and says how the target computes the same (source/dialect.ts, TargetDigest).
// Count: the rows on each server. Checksum, for a unit (validateUnit): where the dialect's COPY rows
// are the target's bytes (copyDigests), each side's rows read by COPY, in the binary format where
// every column is built in (text otherwise), and digested here (digest.ts: order-independent, no
// sort). In Standard mode the fenced source does not change, so its side of a unit is taken from
// the very rows its copy read (each chunk's digest, or with Count its rows, recorded with the chunk)
// and is not read again. Otherwise the dialect's digest. A mismatch names the table, the key range
// and, where the dialect can tell, the columns that differ.
// Row sets compared in a change batch's snapshot (the replay's changed rows by key, continuous
// validation's units) use the dialect's digest, and a mismatch names the differing keys.
import type { Validation } from '../api/migration.ts';
import { targetSchemaOf, type SchemaPair } from '../api/settings.ts';
import { findTable, schemaOf, tableKey } from '../catalog/schemas.ts';
import { holdsRows, rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { columnList } from '../db/ident.ts';
import { describeRange, rangePredicate, type Chunk, type Range } from '../plan/chunks.ts';
import type { ChunkDone } from '../state/progress.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import { need, type Context } from '../phases/context.ts';
import type {
  Bucket,
  KeyedRow,
  Measure,
  SharedSnapshot,
  SnapshotReads,
  SourceSession,
  TargetDigest,
} from '../source/dialect.ts';
import { to as copyTo } from 'pg-copy-streams';
import type { Readable } from 'node:stream';
import { addDigests, CopyDigest, EMPTY_DIGEST, formatDigest, parseDigest, type Digest } from './digest.ts';

export type { Bucket, KeyedRow, Measure } from '../source/dialect.ts';

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

/** Differing keys named in an error. */
const NAMED_KEYS = 5;
/** Keys measured at once (a JSON parameter on each side). */
const KEY_PAGE = 5000;

/** Buckets whose count or checksum differ between the sides (or that one side lacks), in order. Pure. */
export function differingBuckets(a: readonly Bucket[], b: readonly Bucket[]): string[] {
  const other = new Map(b.map((x) => [x.b, `${x.n}/${x.s}`]));
  const mine = new Map(a.map((x) => [x.b, `${x.n}/${x.s}`]));
  return [...new Set([...mine.keys(), ...other.keys()])].filter((k) => mine.get(k) !== other.get(k)).sort();
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

function mismatch(a: Measure, b: Measure, source = 'source has'): string {
  return a.rows !== b.rows
    ? `${source} ${a.rows} rows, target ${b.rows}`
    : `same row count (${a.rows}) but the content checksums differ`;
}

const unitName = (u: Unit) => `table ${u.table}${u.range ? `, ${describeRange(u.range)}` : ''}`;

const differs = (a: Measure, b: Measure) => a.rows !== b.rows || a.checksum !== b.checksum;

/** Runs a measuring query on the target. */
async function measureOn(c: Client, sql: string, params: unknown[] = []): Promise<Measure> {
  return (await c.query<Measure>(sql, params)).rows[0]!;
}

/** A key as PostgreSQL renders a text array: `{7,abc}`. */
const keyText = (key: readonly string[]) =>
  `{${key.map((v) => (/^[^\s{}",\\]+$/.test(v) && v.toUpperCase() !== 'NULL' ? v : JSON.stringify(v))).join(',')}}`;

/**
 * Compares the rows of these keys (each as its texts) on the source, as `reads` sees it, and on the
 * target, whose session must have its search_path at `target` (key casts name types relative to the
 * table's schema); on a difference, throws a ValidationError naming `where` and the first differing keys.
 */
export async function compareKeys(
  reads: SnapshotReads,
  dst: Client,
  digest: TargetDigest,
  t: Table,
  schemas: { source: string; target: string },
  keys: readonly string[][],
  where: string,
): Promise<void> {
  for (let i = 0; i < keys.length; i += KEY_PAGE) {
    const page = keys.slice(i, i + KEY_PAGE);
    const json = JSON.stringify(page);
    const [a, b] = await Promise.all([
      reads.measureKeys(t, schemas.source, page),
      measureOn(dst, digest.measureKeysSql(schemas.target, t), [json]),
    ]);
    if (!differs(a, b)) continue;
    const [x, y] = await Promise.all([
      reads.rowDigests(t, schemas.source, page),
      dst.query<{ n: number; h: string | null }>(digest.rowDigestsSql(schemas.target, t), [json]),
    ]);
    const keyed = (h: (string | null | undefined)[]) =>
      page.flatMap((key, j) => (h[j] ? [{ key: keyText(key), h: h[j] }] : []));
    const there = new Map(y.rows.map((r) => [r.n, r.h]));
    const named = describeDifferences(keyed(x), keyed(page.map((_, j) => there.get(j + 1))));
    throw new ValidationError(
      tableKey(t),
      `validation failed: ${where}: ${mismatch(a, b)}${named.length ? `; differing keys: ${named.join('; ')}` : ''}`,
    );
  }
}

/**
 * The first keys whose rows differ in a unit, where the dialect can tell: buckets by key hash on both
 * sides, then the rows of the differing buckets only. Runs where the unit was measured.
 */
async function differingKeys(
  reads: SnapshotReads,
  dst: Client,
  digest: TargetDigest,
  t: Table,
  schemas: { source: string; target: string },
  range: Range | null,
): Promise<string[]> {
  if (!t.key.length || !reads.keyBuckets || !reads.keyedRows) return [];
  if (!digest.keyBucketsSql || !digest.keyedRowsSql) return [];
  const [ba, bb] = await Promise.all([
    reads.keyBuckets(t, schemas.source, range),
    dst.query<Bucket>(digest.keyBucketsSql(schemas.target, t, range)),
  ]);
  const differ = differingBuckets(ba, bb.rows).slice(0, NAMED_KEYS);
  const [ka, kb] = await Promise.all([
    reads.keyedRows(t, schemas.source, range, differ),
    dst.query<KeyedRow>(digest.keyedRowsSql(schemas.target, t, range), [differ]),
  ]);
  return describeDifferences(ka, kb.rows);
}

const schemasOf = (catalog: Catalog, pairs: readonly SchemaPair[], t: Table) => {
  const source = schemaOf(catalog, t);
  return { source, target: targetSchemaOf({ schemas: pairs }, source) };
};

/**
 * Compares one validation unit by the dialect's digest, the source as `reads` sees it (a change
 * batch's snapshot), the target in its session's; a difference names the first differing keys.
 */
export async function compareUnit(
  reads: SnapshotReads,
  dst: Client,
  digest: TargetDigest,
  catalog: Catalog,
  pairs: readonly SchemaPair[],
  u: Unit,
  how: Validation,
): Promise<void> {
  const t = findTable(catalog, u.table);
  const schemas = schemasOf(catalog, pairs, t);
  const [a, b] = await Promise.all([
    reads.measure(t, schemas.source, u.range, how),
    measureOn(dst, digest.measureSql(schemas.target, t, u.range, how)),
  ]);
  if (!differs(a, b)) return;
  const keys = await differingKeys(reads, dst, digest, t, schemas, u.range);
  throw new ValidationError(
    u.table,
    `validation failed: ${unitName(u)}: ${mismatch(a, b)}${keys.length ? `; differing keys: ${keys.join('; ')}` : ''}`,
  );
}

/** A table's columns that the digest reads, in their order: every one, generated columns included. */
const digestColumns = (t: Table) => t.columns.map((c) => c.name);

/** Binary COPY (faster) carries type oids: only when every column is built in. */
const digestBinary = (t: Table) => t.columns.every((c) => c.builtinType);

/**
 * Whether the copy of a table's chunks can record their source digest: it reads every column (none is
 * generated) in the format the digest reads.
 */
export const digestsOnCopy = (t: Table): boolean => t.columns.every((c) => c.generated === null);

/** Digests COPY rows as they stream by. */
async function digestOf(rows: Readable, binary: boolean): Promise<Digest> {
  const d = new CopyDigest(binary);
  for await (const b of rows as AsyncIterable<Buffer>) d.update(b);
  return d.result();
}

/** The target's COPY of a unit's rows (a query: COPY of a table refuses generated columns). */
const readSql = (t: Table, schema: string, range: Range | null): string =>
  `COPY (SELECT ${columnList(digestColumns(t))} FROM ${rowsOf(schema, t)} ${rangePredicate(range)}) TO STDOUT (FORMAT ${digestBinary(t) ? 'binary' : 'text'})`;

/** What the copy recorded of a chunk's source rows: their count and, when it took one, their digest (formatDigest). */
export type Recorded = Pick<ChunkDone, 'rows' | 'digest'>;

export interface UnitOptions {
  /** The chunks the copy recorded, by chunk; their digests are used when a unit's every chunk has one. */
  recorded?: ReadonlyMap<string, Recorded>;
  /**
   * ferry import: the measures the export took (in each chunk's transaction) instead of the source's,
   * which is not read; the target is measured by the same query.
   */
  expected?: (u: Unit) => Measure;
  /**
   * The source cannot have changed since the copy (Standard mode, the fence up): Count compares the
   * target's count with the rows the recorded chunks read instead of counting the source again (the
   * copy read exactly those rows in its snapshot).
   */
  sourceUnchanged?: boolean;
}

/** The rows the copy read for a unit, when every chunk of it is recorded. */
function copiedRowsOf(u: ValidationUnit, recorded?: ReadonlyMap<string, Recorded>): number | undefined {
  const rows = u.chunks.map((c) => recorded?.get(c)?.rows);
  return rows.length && rows.every((n) => n !== undefined) ? rows.reduce((a, n) => a + n, 0) : undefined;
}

/** After a mismatch: the columns whose values differ, compared one by one (undefined: not knowable). */
async function differingColumns(
  src: SnapshotReads,
  dst: Client,
  digest: TargetDigest,
  t: Table,
  schemas: { source: string; target: string },
  range: Range | null,
): Promise<string[] | undefined> {
  if (!src.columnChecksums || !digest.columnChecksumsSql) return undefined;
  const [a, b] = await Promise.all([
    src.columnChecksums(t, schemas.source, range),
    dst
      .query<Record<string, string>>(digest.columnChecksumsSql(schemas.target, t, range))
      .then((r) => t.columns.map((_, i) => r.rows[0]![`c${i}`]!)),
  ]);
  return t.columns.filter((_, i) => a[i] !== b[i]).map((c) => c.name);
}

/**
 * Validates one unit, the source through its session (in the session's snapshot, if any); throws a
 * ValidationError naming where the target differs.
 */
export async function validateUnit(
  ctx: Context,
  conns: { src?: SourceSession; dst: Client },
  catalog: Catalog,
  u: ValidationUnit,
  opts: UnitOptions = {},
): Promise<void> {
  const how = ctx.settings.validation;
  if (how === 'None') return;
  const digest = ctx.source.digest;
  const t = findTable(catalog, u.table);
  const schemas = schemasOf(catalog, ctx.settings.schemas, t);
  const where = unitName(u);
  const targetMeasure = () => measureOn(conns.dst, digest.measureSql(schemas.target, t, u.range, how));
  const copied = how === 'Count' && opts.sourceUnchanged ? copiedRowsOf(u, opts.recorded) : undefined;
  const expected: Measure | undefined = opts.expected
    ? opts.expected(u)
    : copied !== undefined
      ? { rows: String(copied), checksum: null }
      : undefined;
  if (expected) {
    const y = await targetMeasure();
    if (differs(expected, y))
      throw new ValidationError(
        u.table,
        `validation failed: ${where}: ${mismatch(expected, y, opts.expected ? 'the source had at export' : 'the copy read')}`,
      );
    return;
  }
  const src = need(conns.src, 'source session');
  const [a, b] = await (how === 'Count' || !ctx.source.copyDigests
    ? Promise.all([src.measure(t, schemas.source, u.range, how), targetMeasure()])
    : copyDigests(src, conns.dst, t, schemas, u, opts.recorded));
  if (!differs(a, b)) return;
  if (a.rows !== b.rows)
    throw new ValidationError(
      u.table,
      `validation failed: ${where}: source has ${a.rows} rows, target ${b.rows}`,
    );
  const columns = await differingColumns(src, conns.dst, digest, t, schemas, u.range);
  throw new ValidationError(
    u.table,
    `validation failed: ${where}: same row count (${a.rows}) but the content ` +
      (columns === undefined
        ? 'checksums differ'
        : columns.length
          ? `differs in column ${columns.join(', ')}`
          : 'differs (each column holds the same values: they moved between rows)'),
  );
}

/**
 * Both sides' COPY digests of a unit, as measures: the source's recorded by its copy where every
 * chunk has one, else read now through its session.
 */
async function copyDigests(
  src: SourceSession,
  dst: Client,
  t: Table,
  schemas: { source: string; target: string },
  u: ValidationUnit,
  recorded?: ReadonlyMap<string, Recorded>,
): Promise<[Measure, Measure]> {
  const digests = u.chunks.map((c) => recorded?.get(c)?.digest);
  const fromCopy = digestsOnCopy(t) && u.chunks.length > 0 && digests.every((d) => d !== undefined);
  const binary = digestBinary(t);
  const [a, b] = await Promise.all([
    fromCopy
      ? digests.map((d) => parseDigest(d!)).reduce(addDigests, EMPTY_DIGEST)
      : src.readChunk(
          {
            table: t,
            schema: schemas.source,
            range: u.range,
            columns: digestColumns(t),
            format: binary ? 'binary' : 'text',
          },
          (rows) => digestOf(rows, binary),
        ),
    digestOf(dst.query(copyTo(readSql(t, schemas.target, u.range))), binary),
  ]);
  const asMeasure = (d: Digest): Measure => ({ rows: String(d.rows), checksum: formatDigest(d) });
  return [asMeasure(a), asMeasure(b)];
}

export interface ValidateOptions {
  /** Only these tables. */
  tables?: readonly string[];
  /** Units already proven equal (their ids): not validated again. */
  skip?: ReadonlySet<string>;
  /** Compare against the source as of this snapshot. */
  sourceSnapshot?: SharedSnapshot;
  /** Called as each unit is proven equal. */
  proven?: (u: ValidationUnit, dst: Client) => Promise<void>;
  /** Whether a unit that differs may stay unproven, for a later validation to prove (none: it fails). */
  unprovable?: (u: ValidationUnit) => Promise<boolean>;
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
  const open = async () => {
    const src = await (opts.sourceSnapshot ?? ctx.source).open('validate');
    try {
      return { src, dst: await connect(ctx.target, 'validate') };
    } catch (err) {
      await src.close().catch(() => {});
      throw err;
    }
  };
  await runPool(
    units,
    ctx.settings.parallelism,
    open,
    async (u, conns) => {
      try {
        await validateUnit(ctx, conns, catalog, u);
      } catch (err) {
        if (!(err instanceof ValidationError) || !(await opts.unprovable?.(u))) throw err;
        ctx.log.info({ unit: unitName(u), difference: err.message }, 'left unproven');
        return;
      }
      await opts.proven?.(u, conns.dst);
    },
    async ({ src, dst }) => {
      await Promise.all([src.close(), dst.end()]);
    },
  );
  ctx.log.info({ units: units.length, how }, 'target validated equal to source');
  return units.length;
}
