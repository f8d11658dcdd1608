// Reading a MySQL/MariaDB source: reader sessions, a consistent snapshot shared by parallel readers
// (as mydumper takes it), chunk boundaries along a key, and the streaming read of one chunk into
// PostgreSQL COPY rows.
//
// The snapshot: a coordinator session takes a brief global read lock (FLUSH TABLES WITH READ LOCK;
// with LOCK TABLES ... READ on the migrated tables instead when the user lacks RELOAD), records the
// binary log position when there is one, every reader opens START TRANSACTION WITH CONSISTENT
// SNAPSHOT while no write can commit, then the lock goes. Each reader then sees the database at
// that same instant, whatever is written afterwards, for as long as its transaction lasts.
import { Readable } from 'node:stream';
import type { Connection, ConnectionOptions, RowDataPacket } from 'mysql2';
import type { Conversion } from '../../api/settings.ts';
import { integerBoundaries, keyRangeWhere, type Range } from '../../plan/chunks.ts';
import type { Column, Table } from '../../catalog/types.ts';
import type { CopyFormat } from '../dialect.ts';
import { mysqlInfo } from './catalog.ts';
import { toCharset, utf8Of } from './charsets.ts';
import { Encoder, RAW_VALUES } from './encode.ts';
import { binaryField } from './encode-binary.ts';
import { encodeRowPackets, type RowOutcome } from './row-packets.ts';
import { noteLoss, onLoss } from './session-loss.ts';

/**
 * A reader's session: timestamps in UTC (TIMESTAMP values are stored in UTC and rendered in the
 * session's zone), text columns as their stored bytes (the encoder decodes each from its charset),
 * and no server-side timeout while the target applies backpressure.
 */
export const READ_SESSION = [
  "SET time_zone = '+00:00'",
  'SET NAMES utf8mb4',
  'SET character_set_results = binary',
  'SET net_write_timeout = 86400',
  'SET net_read_timeout = 86400',
  'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ',
];

/** Quotes a MySQL identifier. */
export const mysqlIdent = (name: string): string => `\`${name.replaceAll('`', '``')}\``;

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const EXACT_NUMBERS = new Set([...INTEGER_TYPES, 'decimal', 'numeric']);
const TEMPORAL = new Set(['date', 'datetime', 'timestamp', 'time']);
const TEXTUAL = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARY = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

export async function query<T = RowDataPacket[]>(
  c: Connection,
  sql: string,
  params: unknown[] = [],
): Promise<T> {
  const [rows] = await c.promise().query(sql, params);
  return rows as T;
}

/** A reader session (callback API: its queries stream). `options` carry host, port, user, password, TLS. */
export async function openReader(options: ConnectionOptions): Promise<Connection> {
  // Loaded on first use: a run from another engine does not pay for the driver (memory, start-up).
  const { createConnection } = await import('mysql2');
  const c = createConnection({
    ...options,
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // A dropped connection fails the query that uses it (session-loss.ts); it must not crash the process.
  noteLoss(c);
  try {
    for (const s of READ_SESSION) await query(c, s);
  } catch (e) {
    c.destroy();
    throw e;
  }
  return c;
}

export interface BinlogPosition {
  file: string;
  position: string;
  /** MariaDB's @@gtid_binlog_pos, MySQL's @@gtid_executed ('' when none). */
  gtid: string;
}

export interface Snapshot {
  /** Sessions inside one consistent snapshot; each reads chunks one after another. */
  readers: Connection[];
  /** The binary log position the snapshot corresponds to; null when the server writes none (or may not say). */
  position: BinlogPosition | null;
  /** How the lock was taken: `global` (FLUSH TABLES WITH READ LOCK) or `tables` (LOCK TABLES ... READ). */
  lock: 'global' | 'tables';
  /** Commits (ends) every reader's transaction and closes the sessions. */
  close(): Promise<void>;
}

const ER_SPECIFIC_ACCESS_DENIED = 1227;
const ER_DBACCESS_DENIED = 1044;

/**
 * Opens `readers` sessions in one consistent snapshot of the database. `tables`: the migrated tables,
 * locked by name when the user may not take the global lock. The lock is held only while the readers
 * start their transactions; `lockWaitSeconds` bounds the wait for it (a long query would otherwise
 * keep every writer waiting behind the lock request).
 */
export async function openSnapshot(
  options: ConnectionOptions,
  database: string,
  tables: readonly string[],
  readers: number,
  lockWaitSeconds = 60,
): Promise<Snapshot> {
  const coordinator = await openReader(options);
  const opened: Connection[] = [];
  let lock: Snapshot['lock'] = 'global';
  try {
    // Sessions first: the lock is held only while their transactions start.
    for (let i = 0; i < readers; i++) opened.push(await openReader(options));
    await query(coordinator, `SET SESSION lock_wait_timeout = ${Math.max(1, Math.floor(lockWaitSeconds))}`);
    try {
      await query(coordinator, 'FLUSH TABLES WITH READ LOCK');
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      if (errno !== ER_SPECIFIC_ACCESS_DENIED && errno !== ER_DBACCESS_DENIED) throw e;
      lock = 'tables';
      await query(
        coordinator,
        `LOCK TABLES ${tables.map((t) => `${mysqlIdent(database)}.${mysqlIdent(t)} READ`).join(', ')}`,
      );
    }
    const position = await binlogPosition(coordinator);
    await Promise.all(opened.map((r) => query(r, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')));
    await query(coordinator, 'UNLOCK TABLES');
    coordinator.end();
    return {
      readers: opened,
      position,
      lock,
      close: async () => {
        await Promise.all(opened.map((r) => query(r, 'COMMIT').catch(() => {})));
        for (const r of opened) r.end();
      },
    };
  } catch (e) {
    // Closing the coordinator's session releases its lock.
    coordinator.destroy();
    for (const r of opened) r.destroy();
    throw e;
  }
}

/** SHOW MASTER STATUS and the GTID position, or null without a binary log or the privilege to see it. */
async function binlogPosition(c: Connection): Promise<BinlogPosition | null> {
  try {
    const rows = await query<RowDataPacket[]>(c, 'SHOW MASTER STATUS');
    const row = rows[0];
    if (!row) return null;
    const [gtid] = await query<RowDataPacket[]>(
      c,
      "SELECT CAST(COALESCE(@@GLOBAL.gtid_binlog_pos, '') AS CHAR) AS g",
    ).catch(() =>
      query<RowDataPacket[]>(c, "SELECT CAST(COALESCE(@@GLOBAL.gtid_executed, '') AS CHAR) AS g"),
    );
    const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
    return { file: text(row['File']), position: text(row['Position']), gtid: text(gtid?.['g'] ?? '') };
  } catch (e) {
    if ((e as { errno?: number }).errno === ER_SPECIFIC_ACCESS_DENIED) return null;
    throw e;
  }
}

/** A key value as the server sends it (raw bytes) as Range text: bytes as bytea hex, text as UTF-8. */
function boundaryText(v: Buffer, col: Column): string {
  const { type, encoding } = mysqlInfo(col);
  if (BINARY.has(type.dataType.toLowerCase())) return `\\x${v.toString('hex')}`;
  return encoding.kind === 'text' ? utf8Of(v, encoding.charset, false).toString() : v.toString('latin1');
}

/**
 * Boundaries cutting a table into about `n` chunks along `column` (the key's first column): evenly
 * spaced between MIN and MAX for integers, else every rows/n-th value of the key's index. [] when the
 * column's type cannot bound a range (enum, set, bit, json, float) or the table is small.
 */
export async function keyBoundaries(
  c: Connection,
  database: string,
  table: Table,
  column: string,
  n: number,
): Promise<string[]> {
  const col = table.columns.find((x) => x.name === column);
  if (!col || n < 2) return [];
  const dataType = mysqlInfo(col).type.dataType.toLowerCase();
  const from = `${mysqlIdent(database)}.${mysqlIdent(table.name)}`;
  const k = mysqlIdent(column);
  if (INTEGER_TYPES.has(dataType)) {
    const [row] = await query<RowDataPacket[]>(
      c,
      `SELECT CAST(MIN(${k}) AS CHAR) AS lo, CAST(MAX(${k}) AS CHAR) AS hi FROM ${from}`,
    );
    if (!row?.['lo']) return [];
    return integerBoundaries(BigInt(String(row['lo'])), BigInt(String(row['hi'])), n);
  }
  if (
    !EXACT_NUMBERS.has(dataType) &&
    !TEMPORAL.has(dataType) &&
    !TEXTUAL.has(dataType) &&
    !BINARY.has(dataType)
  )
    return [];
  const step = Math.max(1, Math.ceil(table.rowEstimate / n));
  const out: string[] = [];
  let after: Buffer | null = null;
  for (let i = 1; i < n; i++) {
    const where = after === null ? '' : `WHERE ${k} > ${literal(col, boundaryText(after, col))}`;
    const rows = await new Promise<(Buffer | null)[][]>((resolve, reject) =>
      c.query(
        { sql: `SELECT ${k} FROM ${from} ${where} ORDER BY ${k} LIMIT 1 OFFSET ${step - 1}`, ...RAW_VALUES },
        (err, res) => (err ? reject(err) : resolve(res as (Buffer | null)[][])),
      ),
    );
    const v = rows[0]?.[0];
    if (!v) break;
    after = v;
    out.push(boundaryText(v, col));
  }
  return out;
}

/**
 * A Range bound as a MySQL literal of the key column's own type, so the comparison uses the column's
 * index and collation: numbers inline, temporal values quoted, text in the column's charset, bytes as hex.
 */
export function literal(col: Column, value: string): string {
  const { type, encoding } = mysqlInfo(col);
  const dataType = type.dataType.toLowerCase();
  if (EXACT_NUMBERS.has(dataType)) {
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw new Error(`internal: ${value} is not a number`);
    return value;
  }
  if (BINARY.has(dataType) || type.charset?.toLowerCase() === 'binary')
    return `X'${value.replace(/^\\x/, '')}'`;
  if (TEXTUAL.has(dataType) && encoding.kind === 'text') {
    const charset = type.charset?.toLowerCase() ?? 'utf8mb4';
    return `_${charset} X'${toCharset(value, encoding.charset).toString('hex')}'`;
  }
  return `'${value.replaceAll("'", "''")}'`;
}

/** The WHERE clause of a chunk on MySQL ('' for the whole table). */
export function rangePredicate(table: Table, range: Range | null): string {
  return keyRangeWhere(table, range, 'MySQL', mysqlIdent, literal);
}

/** The SELECT of a chunk's columns: floats as doubles, which MariaDB renders exactly (FLOAT with 6 digits). */
export function chunkSql(
  database: string,
  table: Table,
  columns: readonly string[],
  range: Range | null,
): string {
  const list = columns.map((name) => {
    const col = table.columns.find((c) => c.name === name);
    if (!col) throw new Error(`internal: no column ${name} in ${table.name}`);
    return mysqlInfo(col).encoding.kind === 'float'
      ? `CAST(${mysqlIdent(name)} AS DOUBLE)`
      : mysqlIdent(name);
  });
  return `SELECT ${list.join(', ')} FROM ${mysqlIdent(database)}.${mysqlIdent(table.name)} ${rangePredicate(table, range)}`.trimEnd();
}

export interface ChunkOptions {
  /** The table as messages name it. */
  name?: string;
  conversion: Conversion;
  /** The table's COPY format (table-copy.ts copyFormat: binary when its columns allow it). */
  format: CopyFormat;
}

/** COPY bytes buffered before the session stops reading its socket. */
const BUFFERED_BYTES = 256 * 1024;

/**
 * A chunk's rows as PostgreSQL COPY rows, encoded as they arrive: each piece is pushed as soon as
 * it is full, and when the consumer does not take it the session stops reading its socket (the
 * server then waits on TCP) until it does. Memory stays at a few pieces whatever the chunk's size.
 */
class ChunkStream extends Readable {
  private paused = false;
  private readonly c: Connection;
  private readonly unwatch: () => void;
  constructor(c: Connection, sql: string, encoder: Encoder) {
    super({ highWaterMark: BUFFERED_BYTES });
    this.c = c;
    this.unwatch = onLoss(c, (e) => this.destroy(e));
    const query = c.query({ sql, ...RAW_VALUES });
    encodeRowPackets(query, (p, start, end) => encoder.addPacket(p, start, end));
    query
      .on('result', (row) => {
        const piece = row as unknown as RowOutcome;
        if (this.destroyed || !piece) return;
        if (piece instanceof Error) {
          this.destroy(piece);
          return;
        }
        if (!this.push(piece) && !this.paused) {
          this.paused = true;
          c.pause();
        }
      })
      .on('end', () => {
        this.unwatch();
        if (this.destroyed) return;
        const last = encoder.end();
        if (last) this.push(last);
        this.push(null);
      })
      .on('error', (e) => this.destroy(e));
  }
  override _read(): void {
    if (!this.paused) return;
    this.paused = false;
    this.c.resume();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.unwatch();
    this._read();
    cb(err);
  }
}

/**
 * A chunk's rows as PostgreSQL COPY rows (see ChunkStream). On error, or when the consumer gives up
 * early, the session is left reading the rest of the result: close it.
 */
export function readChunk(
  c: Connection,
  database: string,
  table: Table,
  columns: readonly string[],
  range: Range | null,
  opts: ChunkOptions,
): Readable {
  return readRows(c, chunkSql(database, table, columns, range), table, columns, opts);
}

/** The rows of any SELECT of `columns` of `table` (chunkSql's list) as COPY rows, as readChunk streams them. */
export function readRows(
  c: Connection,
  sql: string,
  table: Table,
  columns: readonly string[],
  opts: ChunkOptions,
): Readable {
  const encoder = new Encoder({
    table: opts.name ?? table.name,
    columns: columns.map((name) => {
      const col = table.columns.find((x) => x.name === name)!;
      const { encoding } = mysqlInfo(col);
      return { name, encoding, binary: binaryField(col.type, encoding) };
    }),
    key: table.key,
    conversion: opts.conversion,
    format: opts.format,
  });
  return new ChunkStream(c, sql, encoder);
}
