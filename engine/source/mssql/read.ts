// Reading a SQL Server source: a consistent snapshot shared by parallel readers, chunk boundaries
// along a key, and the streaming read of one chunk into PostgreSQL COPY text.
//
// The snapshot: SQL Server has no exported snapshots, and a SNAPSHOT transaction does not start at
// BEGIN TRANSACTION but at its first statement that reads data under SNAPSHOT isolation (Microsoft's
// "SQL Server 2005 Row Versioning-Based Transaction Isolation", "Understanding the 'Beginning' of a
// Transaction"; a statement that reads no table, such as SELECT TOP (0) or a NOLOCK-hinted one, does
// not fix it). So a coordinator session holds every migrated table with a shared table lock
// (TABLOCK, HOLDLOCK: no write can commit on them, and it waits for those in flight), each reader
// then begins its SNAPSHOT transaction and reads a row of a migrated table, which fixes its snapshot
// while no write can land, and the coordinator commits. Readers take no shared locks, so the lock
// does not block them; it lasts only while the readers open their snapshots.
import { Readable } from 'node:stream';
import type { Request } from 'tedious';
import type { Conversion } from '../../api/settings.ts';
import type { Column, Table } from '../../catalog/types.ts';
import { integerBoundaries, keyRangeWhere, type Range } from '../../plan/chunks.ts';
import { mssqlInfo } from './column.ts';
import { mssqlIdent, mssqlLiteral, mssqlQualified, normalizeError, type MssqlConnection } from './connect.ts';
import { canonicalText, copyField, rowEncoder, rowTexts } from './encode.ts';
import {
  LARGE_VALUE_BYTES,
  largeSelectList,
  rowsOf,
  SLICE_UNITS,
  slicing,
  writeLargeValue,
} from './large-values.ts';

/** A migrated table by its source schema and name. */
export interface TableName {
  schema: string;
  name: string;
}

/** Who runs a step of the snapshot's opening: the coordinator, or every reader. */
export interface SnapshotStep {
  on: 'coordinator' | 'readers';
  sql: string;
}

/** Snapshot isolation transaction failed accessing database: ALLOW_SNAPSHOT_ISOLATION is OFF. */
export const SNAPSHOT_NOT_ALLOWED = 3952;
/** Lock request time out period exceeded (SET LOCK_TIMEOUT). */
export const LOCK_TIMEOUT = 1222;

/**
 * The statement that holds a table against writers until the coordinator's transaction ends. It
 * reads (at most) a row: a predicate the optimizer knows to be false (WHERE 1=0) or TOP (0) becomes a
 * constant scan that never opens the table, and so takes no lock.
 */
export const holdSql = (t: TableName): string =>
  `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (1) 1 AS x FROM ${mssqlQualified(t.schema, t.name)} WITH (TABLOCK, HOLDLOCK)) AS z`;

/** The read that fixes a SNAPSHOT transaction's instant: a row of a real table, without hints. */
export const firstReadSql = (t: TableName): string =>
  `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (1) 1 AS x FROM ${mssqlQualified(t.schema, t.name)}) AS z`;

/**
 * How the snapshot is opened, in order: the coordinator takes its locks (in one order, so two
 * ferry runs never deadlock each other), every reader begins its SNAPSHOT transaction and reads,
 * then the coordinator commits. Empty when there is no table (nothing to read consistently).
 */
export function snapshotSteps(tables: readonly TableName[], lockWaitSeconds: number): SnapshotStep[] {
  if (!tables.length) return [];
  const ordered = [...tables].sort((a, b) =>
    a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1,
  );
  return [
    { on: 'coordinator', sql: `SET LOCK_TIMEOUT ${Math.max(1, Math.floor(lockWaitSeconds)) * 1000}` },
    { on: 'coordinator', sql: 'BEGIN TRANSACTION' },
    ...ordered.map((t) => ({ on: 'coordinator' as const, sql: holdSql(t) })),
    { on: 'readers', sql: 'SET TRANSACTION ISOLATION LEVEL SNAPSHOT' },
    { on: 'readers', sql: 'BEGIN TRANSACTION' },
    { on: 'readers', sql: firstReadSql(ordered[0]!) },
    { on: 'coordinator', sql: 'COMMIT' },
  ];
}

export interface Snapshot {
  /** Sessions inside one SNAPSHOT transaction each, all at the same instant. */
  readers: MssqlConnection[];
  /** Ends every reader's transaction (commit, or roll back what they wrote) and closes the sessions. */
  close(commit?: boolean): Promise<void>;
}

/** The one clear error for what the snapshot's opening can meet; others as they are. */
function explainSnapshotError(err: unknown, database: string): unknown {
  const n = (err as { number?: number }).number;
  if (n === SNAPSHOT_NOT_ALLOWED)
    return new Error(
      `database ${database} does not allow SNAPSHOT isolation, which ferry's consistent read needs: ` +
        `ALTER DATABASE ${mssqlIdent(database)} SET ALLOW_SNAPSHOT_ISOLATION ON`,
      { cause: err },
    );
  if (n === LOCK_TIMEOUT)
    return new Error(
      'the consistent snapshot needs a moment in which no transaction of the application holds the migrated tables; ' +
        `one kept them for longer than the lock wait (${(err as Error).message}): end long-running transactions and run again`,
      { cause: err },
    );
  return err;
}

/**
 * Opens `readers` sessions in one consistent snapshot of the migrated `tables` (see the top of the
 * file). `lockWaitSeconds` bounds the wait for the tables' locks: while the coordinator waits, every
 * writer queues behind its request.
 */
export async function openSnapshot(
  open: () => Promise<MssqlConnection>,
  tables: readonly TableName[],
  readers: number,
  lockWaitSeconds = 60,
): Promise<Snapshot> {
  const opened: MssqlConnection[] = [];
  let coordinator: MssqlConnection | undefined;
  try {
    // Sessions first: the locks are held only while their transactions start.
    for (let i = 0; i < Math.max(1, readers); i++) opened.push(await open());
    coordinator = await open();
    for (const step of snapshotSteps(tables, lockWaitSeconds)) {
      if (step.on === 'coordinator') await coordinator.run(step.sql);
      else await Promise.all(opened.map((r) => r.run(step.sql)));
    }
    await coordinator.close();
  } catch (err) {
    // Closing the coordinator's session rolls its transaction back and releases the locks.
    await Promise.all([coordinator, ...opened].map((c) => c?.close().catch(() => {})));
    throw explainSnapshotError(err, (coordinator ?? opened[0])?.endpoint.conn.database ?? '');
  }
  return {
    readers: opened,
    close: async (commit = true) => {
      const end = commit ? 'COMMIT' : 'ROLLBACK';
      await Promise.all(opened.map((r) => (r.closed ? undefined : r.run(end).catch(() => {}))));
      await Promise.all(opened.map((r) => r.close()));
    },
  };
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'int', 'bigint']);
const DECIMAL_TYPES = new Set(['decimal', 'numeric', 'money', 'smallmoney']);
const DATETIME_TYPES = new Set(['datetime2', 'datetime', 'smalldatetime']);
/**
 * Unicode text only: a char/varchar key compared with an nvarchar literal is converted to nvarchar,
 * and under a SQL_ collation that orders differently from the column's own order, so boundaries
 * taken in the column's order could overlap. Such keys, like uniqueidentifier (SQL Server orders
 * its bytes 10-15 first, PostgreSQL's uuid does not: a range would not mean the same on the target),
 * binary, float, time and datetimeoffset keys, are not cut: the table is read as one chunk.
 */
const TEXT_TYPES = new Set(['nchar', 'nvarchar']);

/** The key's system type (alias types resolved). */
const keyType = (col: Column): string => mssqlInfo(col).type.name.toLowerCase();

/**
 * A key value as Range text: the text PostgreSQL reads for the column's mapped type, which
 * keyLiteral reads back on SQL Server. undefined for a type whose keys are not cut.
 */
export function boundaryText(col: Column, expr: string): string | undefined {
  const type = keyType(col);
  // money's default style rounds to 2 decimals; style 2 writes all 4, without thousands separators.
  if (type === 'money' || type === 'smallmoney') return `CONVERT(varchar(60), ${expr}, 2)`;
  if (INTEGER_TYPES.has(type) || DECIMAL_TYPES.has(type)) return `CONVERT(varchar(60), ${expr})`;
  if (type === 'date') return `CONVERT(char(10), ${expr}, 23)`;
  if (DATETIME_TYPES.has(type)) return `CONVERT(varchar(27), ${expr}, 121)`;
  if (TEXT_TYPES.has(type)) return `CONVERT(nvarchar(max), ${expr})`;
  return undefined;
}

/**
 * A key value (a Range bound, a logged key) given as the text PostgreSQL reads for the column's
 * mapped type, as a T-SQL value of the column's own type, so the comparison is exact and uses the
 * column's index and collation: numbers inline, dates and times converted from their ISO text,
 * text as a Unicode literal, bytes as a binary literal.
 */
export function keyLiteral(col: Column, value: string): string {
  const type = keyType(col);
  if (INTEGER_TYPES.has(type) || DECIMAL_TYPES.has(type)) {
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw new Error(`internal: ${value} is not a number`);
    return value;
  }
  // boolean text (t/f), or an integer's where a rule maps the bit to one.
  if (type === 'bit') {
    if (!/^[tf01]$/.test(value)) throw new Error(`internal: ${value} is not a bit`);
    return value === 't' || value === '1' ? '1' : '0';
  }
  if (type === 'float' || type === 'real') {
    if (!/^-?[0-9.]+(e[-+]?[0-9]+)?$/.test(value)) throw new Error(`internal: ${value} is not a number`);
    return `CAST(${value} AS ${type})`;
  }
  if (type === 'date') return `CONVERT(date, ${mssqlLiteral(value)}, 23)`;
  // datetime2 at its full scale, so a bound never rounds; datetime and smalldatetime as their own.
  if (DATETIME_TYPES.has(type))
    return `CONVERT(${type === 'datetime2' ? 'datetime2(7)' : type}, ${mssqlLiteral(value)}, 121)`;
  if (type === 'time') return `CONVERT(time(7), ${mssqlLiteral(value)}, 121)`;
  // PostgreSQL's timestamptz text in UTC (`+00`); SQL Server compares datetimeoffset by instant.
  if (type === 'datetimeoffset')
    return `CONVERT(datetimeoffset(7), ${mssqlLiteral(value.replace(/([+-]\d\d)$/, '$1:00'))}, 121)`;
  if (type === 'uniqueidentifier') return `CONVERT(uniqueidentifier, ${mssqlLiteral(value)})`;
  if (type === 'binary' || type === 'varbinary') {
    if (!/^\\x[0-9a-f]*$/.test(value)) throw new Error(`internal: ${value} is not bytea text`);
    return `0x${value.slice(2)}`;
  }
  if (TEXT_TYPES.has(type) || type === 'char' || type === 'varchar') return mssqlLiteral(value);
  throw new Error(`internal: a ${type} key cannot be read back`);
}

/** The key types keyLiteral reads back. */
const LITERAL_TYPES = new Set([
  ...INTEGER_TYPES,
  ...DECIMAL_TYPES,
  ...DATETIME_TYPES,
  ...TEXT_TYPES,
  ...['bit', 'float', 'real', 'date', 'time', 'datetimeoffset', 'uniqueidentifier', 'binary', 'varbinary'],
  ...['char', 'varchar'],
]);

/** `(k1 = v AND k2 = w) OR ...` for keys given as PostgreSQL's texts, each read back in its column's type. */
export function keysWhere(keyCols: readonly Column[], keys: readonly (readonly string[])[]): string {
  if (!keys.length) return '1 = 0';
  return keys
    .map((k) => `(${keyCols.map((c, j) => `${mssqlIdent(c.name)} = ${keyLiteral(c, k[j]!)}`).join(' AND ')})`)
    .join(' OR ');
}

/**
 * The positions in `columns` of the (max) values read apart when large (large-values.ts): none when
 * the table has no key among `columns` that keyLiteral reads back (its rows could not be found
 * again): such a table's values are read whole.
 */
export function largeColumns(table: Table, columns: readonly Column[]): number[] {
  const keyed =
    table.key.length > 0 &&
    table.key.every((k) => {
      const col = columns.find((c) => c.name === k);
      return col !== undefined && LITERAL_TYPES.has(keyType(col));
    });
  return keyed ? columns.flatMap((c, i) => (slicing(mssqlInfo(c)) ? [i] : [])) : [];
}

/** The WHERE clause of a chunk on SQL Server ('' for the whole table): [lo, hi) along the key. */
export function rangePredicate(table: Table, range: Range | null): string {
  return keyRangeWhere(table, range, 'SQL Server', mssqlIdent, keyLiteral);
}

/**
 * The SELECT of a chunk's columns, each through the expression that gives its exact value (encode.ts).
 * With `largeBytes`, (max) values over it arrive as NULL beside their DATALENGTH (largeColumns), to be
 * read apart (readRows); without, every value arrives whole.
 */
export function chunkSql(
  schema: string,
  table: Table,
  columns: readonly string[],
  range: Range | null,
  largeBytes?: number,
): string {
  const cols = columns.map((name) => columnOf(table, name));
  const large = largeBytes === undefined ? [] : largeColumns(table, cols);
  const list = largeSelectList(columns, cols.map(mssqlInfo), large, largeBytes ?? 0);
  return `SELECT ${list.join(', ')} FROM ${mssqlQualified(schema, table.name)} ${rangePredicate(table, range)}`.trimEnd();
}

function columnOf(table: Table, name: string): Column {
  const col = table.columns.find((c) => c.name === name);
  if (!col) throw new Error(`internal: no column ${name} in ${table.name}`);
  return col;
}

/** The SELECT giving the boundaries of n tiles along the key, as Range text, in key order. */
export function boundariesSql(schema: string, table: Table, column: string, n: number): string | undefined {
  const text = boundaryText(columnOf(table, column), 'z.k');
  if (!text) return undefined;
  const tiles = `SELECT ${mssqlIdent(column)} AS k, NTILE(${Math.floor(n)}) OVER (ORDER BY ${mssqlIdent(column)}) AS t FROM ${mssqlQualified(schema, table.name)}`;
  return `SELECT ${text} AS b FROM (SELECT MIN(y.k) AS k, y.t FROM (${tiles}) AS y GROUP BY y.t) AS z WHERE z.t > 1 ORDER BY z.t`;
}

/**
 * Boundaries cutting a table into about `n` chunks along `column` (the key's first column): evenly
 * spaced between MIN and MAX for integers (as strings: a bigint is exact), else the first key of
 * each of n tiles (NTILE over the key). [] when the key's type is not cut or the table is small.
 */
export async function keyBoundaries(
  c: MssqlConnection,
  schema: string,
  table: Table,
  column: string,
  n: number,
): Promise<string[]> {
  const col = table.columns.find((x) => x.name === column);
  if (!col || n < 2) return [];
  const k = mssqlIdent(column);
  if (INTEGER_TYPES.has(keyType(col))) {
    const [row] = await c.rows(
      `SELECT CONVERT(varchar(20), MIN(${k})) AS lo, CONVERT(varchar(20), MAX(${k})) AS hi FROM ${mssqlQualified(schema, table.name)}`,
    );
    if (typeof row?.['lo'] !== 'string' || typeof row['hi'] !== 'string') return [];
    return integerBoundaries(BigInt(row['lo']), BigInt(row['hi']), n);
  }
  const sql = boundariesSql(schema, table, column, n);
  if (!sql) return [];
  const out: string[] = [];
  for (const r of await c.rows(sql)) {
    const b = r['b'];
    if (typeof b === 'string' && b !== out[out.length - 1]) out.push(b);
  }
  return out;
}

export interface ChunkOptions {
  /** The table as messages name it. */
  name?: string;
  conversion: Conversion;
  /** Values over `bytes` are read apart in slices of `slice` units (LARGE_VALUE_BYTES, SLICE_UNITS). */
  large?: { bytes: number; slice: number };
}

/** What a row becomes: its COPY line, or (a row with a value read apart) a task run after the result. */
export type Encoded = string | Later;
/** Writes a row's COPY line piece by piece through `write`, which waits while the consumer lags. */
export type Later = (write: (piece: string) => Promise<void>) => Promise<void>;

/** COPY bytes gathered into one piece, and buffered before the request stops reading its socket. */
const PIECE_BYTES = 64 * 1024;
const BUFFERED_BYTES = 256 * 1024;

/**
 * Rows of a statement as COPY text, encoded as they arrive and pushed in pieces; when the consumer
 * does not take them the tedious request is paused (it stops reading its socket, and the server
 * waits on TCP) until it does. A row whose encoding is a Later (a large value read apart) waits, as
 * that task, until the result has ended; then each runs on the same session, its pieces pushed with
 * the same backpressure. Memory stays at a few pieces, one row of small values, and a task per
 * deferred row (its key).
 */
class ChunkStream extends Readable {
  private request: Request | undefined;
  private paused = false;
  private lines: string[] = [];
  private size = 0;
  private readonly later: Later[] = [];
  /** Resolves a Later's write waiting for the consumer. */
  private wanted: (() => void) | undefined;

  constructor(
    c: Pick<MssqlConnection, 'stream'>,
    sql: string,
    encode: (values: readonly unknown[]) => Encoded,
  ) {
    super({ highWaterMark: BUFFERED_BYTES });
    c.stream(sql, [], {
      row: (values, request) => {
        this.request = request;
        if (this.destroyed) return;
        try {
          const line = encode(values);
          if (typeof line !== 'string') return void this.later.push(line);
          this.lines.push(line);
          this.size += line.length;
        } catch (e) {
          this.destroy(e as Error);
          return;
        }
        if (this.size >= PIECE_BYTES && !this.flush() && !this.paused) {
          this.paused = true;
          request.pause();
        }
      },
    })
      .then(async () => {
        for (const task of this.later) {
          if (this.destroyed) return;
          await task((piece) => this.write(piece));
        }
        if (this.destroyed) return;
        this.flush();
        this.push(null);
      })
      .catch((e: unknown) => this.destroy(normalizeError(e) as Error));
  }

  /** Gathers a piece of a deferred row; resolves when the consumer may take more. */
  private async write(piece: string): Promise<void> {
    if (this.destroyed) throw new Error('the read was abandoned');
    this.lines.push(piece);
    this.size += piece.length;
    if (this.size >= PIECE_BYTES && !this.flush()) {
      await new Promise<void>((r) => (this.wanted = r));
      if (this.destroyed) throw new Error('the read was abandoned');
    }
  }

  /** Pushes the gathered lines; false when the consumer wants no more for now. */
  private flush(): boolean {
    if (!this.lines.length) return true;
    const piece = Buffer.from(this.lines.join(''), 'utf8');
    this.lines = [];
    this.size = 0;
    return this.push(piece);
  }

  override _read(): void {
    const wanted = this.wanted;
    this.wanted = undefined;
    wanted?.();
    if (!this.paused) return;
    this.paused = false;
    this.request?.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // The request reads the rest of its result (discarded): the session stays usable.
    this._read();
    cb(err);
  }
}

/** A statement's rows, each through `encode`, as one stream with backpressure (ChunkStream). */
export const streamRows = (
  c: Pick<MssqlConnection, 'stream'>,
  sql: string,
  encode: (values: readonly unknown[]) => Encoded,
): Readable => new ChunkStream(c, sql, encode);

/**
 * The encoder of rows selected by largeSelectList: a row without a large value as its COPY line; a
 * row with one as a Later holding only its key, which reads the row again by that key (its small
 * values in one SELECT, each large value in slices, large-values.ts) and writes its line in pieces.
 * The row cannot have changed or gone in between: the reads run on the same session, inside the
 * same SNAPSHOT transaction (or the fenced downtime, where nothing writes); if it is gone all the
 * same, the read fails naming table and key rather than skip it.
 */
function largeRowEncoder(
  c: Pick<MssqlConnection, 'stream'>,
  table: Table,
  schema: string,
  columns: readonly Column[],
  opts: ChunkOptions,
): (values: readonly unknown[]) => Encoded {
  const name = opts.name ?? table.name;
  const encode = rowEncoder(columns, name, opts.conversion, table.key);
  const large = largeColumns(table, columns);
  if (!large.length) return encode;
  const { bytes, slice } = opts.large ?? { bytes: LARGE_VALUE_BYTES, slice: SLICE_UNITS };
  const texts = rowTexts(columns, name, opts.conversion, table.key);
  const keyCols = table.key.map((k) => columns.find((col) => col.name === k)!);
  const keyAt = keyCols.map((k) => columns.indexOf(k));
  const list = largeSelectList(
    columns.map((col) => col.name),
    columns.map(mssqlInfo),
    large,
    bytes,
  ).join(', ');
  /** Large values of a row: NULL beside a length. */
  const isLarge = (values: readonly unknown[], i: number) => {
    const j = large.indexOf(i);
    return j >= 0 && values[i] == null && values[columns.length + j] != null;
  };

  const reread = async (key: string[], write: (piece: string) => Promise<void>) => {
    const row = `key (${table.key.join(', ')})=(${key.join(', ')})`;
    const from = `${mssqlQualified(schema, table.name)} WHERE ${keysWhere(keyCols, [key])}`;
    const found = await rowsOf(c, `SELECT ${list} FROM ${from}`);
    const values = found[0];
    if (found.length !== 1 || !values)
      throw new Error(
        `table ${name}: the row with ${row} was found ${found.length} times, not once, when read again for its large values`,
      );
    const small = texts(values);
    let line = '';
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) line += '\t';
      if (!isLarge(values, i)) {
        line += copyField(small[i]);
        continue;
      }
      await write(line);
      line = '';
      const col = columns[i]!;
      await writeLargeValue(
        {
          c,
          from,
          column: col.name,
          how: slicing(mssqlInfo(col))!,
          slice,
          conversion: opts.conversion,
          where: `table ${name}, column ${col.name}, ${row}`,
        },
        write,
      );
    }
    await write(`${line}\n`);
  };

  return (values) => {
    if (!large.some((i) => isLarge(values, i))) return encode(values);
    // Only the key is kept: the row is read again once the result has ended.
    const key = keyAt.map((i, j) => {
      const text = canonicalText(
        values[i],
        mssqlInfo(keyCols[j]!),
        { table: name, column: keyCols[j]!.name },
        opts.conversion,
      );
      if (text === null) throw new Error(`internal: a key of ${name} is NULL`);
      return text;
    });
    return (write) => reread(key, write);
  };
}

/**
 * The rows of any SELECT of `columns` of `table` (`schema`'s) as COPY text, as readChunk streams
 * them: chunkSql's list, with the large values read apart if it asked for them (largeBytes).
 */
export function readRows(
  c: Pick<MssqlConnection, 'stream'>,
  sql: string,
  table: Table,
  schema: string,
  columns: readonly string[],
  opts: ChunkOptions,
): Readable {
  const cols = columns.map((name) => columnOf(table, name));
  return streamRows(c, sql, largeRowEncoder(c, table, schema, cols, opts));
}

/**
 * A chunk's rows as PostgreSQL COPY text (see ChunkStream); on error the stream is destroyed with
 * the error as normalizeError classes it (transient ones carry the SQLSTATE the engine retries).
 */
export function readChunk(
  c: Pick<MssqlConnection, 'stream'>,
  table: Table,
  schema: string,
  columns: readonly string[],
  range: Range | null,
  opts: ChunkOptions,
): Readable {
  const sql = chunkSql(schema, table, columns, range, opts.large?.bytes ?? LARGE_VALUE_BYTES);
  return readRows(c, sql, table, schema, columns, opts);
}
