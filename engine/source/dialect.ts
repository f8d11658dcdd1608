// The source-dialect seam: everything ferry asks of a source database, whatever its engine. The
// phases, the plan, the progress and state on the target, the report, the operator and the CRDs
// speak only this interface; each engine (postgres/, mysql/) answers it in its own SQL. The target
// is always PostgreSQL, so what travels between the two is PostgreSQL's: rows as COPY bytes, keys as
// the text PostgreSQL reads back for the column's (mapped) type, digests the target can compute too.
//
// A session is one connection to the source. Most work opens one for its length (`withSource`);
// long-lived workers (the transfer's, the replay's) keep theirs. Sessions are not shared between
// concurrent callers.
import type { Readable } from 'node:stream';
import type { Validation } from '../api/migration.ts';
import type { Settings } from '../api/settings.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import type { Endpoint } from '../db/connect.ts';
import type { SideGrants } from '../phases/privileges.ts';
import type { Range, SplitBy } from '../plan/chunks.ts';
import type { Recorded } from '../state/owner.ts';
import type { Identity } from '../state/shadow.ts';

export type SourceEngine = Settings['source']['engine'];

/** How rows travel into the target's COPY FROM. */
export type CopyFormat = 'binary' | 'text';

/** The write fence's states (see fence/fence.ts): open, refusing the application's writes, or noting them. */
export type FenceState = 'open' | 'refuse' | 'detect';

export interface Prepared {
  /** The server as the log names it: `PostgreSQL 15`, `MariaDB 10.11.6`. */
  server: string;
  /** A PostgreSQL source's major version (compared with the target's). */
  postgresMajor?: number;
  /** The GRANTs the migration user lacks on the source (none: nothing missing). */
  missing: SideGrants;
}

/** ferry's state store found on the source server, and who owns it (state/owner.ts). */
export interface StoreInfo {
  /** Its name, `ferry_<migration>` (a schema on PostgreSQL, a database on MySQL). */
  schema: string;
  owner: Recorded;
}

/** Row count and content digest of some rows (validate/compare.ts compares them across the sides). */
export interface Measure {
  rows: string;
  checksum: string | null;
}

/** After a mismatch: rows grouped by a prefix of their key text's md5 (b), with count (n) and checksum (s). */
export interface Bucket {
  b: string;
  n: string;
  s: string;
}

/** A row's key as text (`{7}`) and its digest. */
export interface KeyedRow {
  key: string;
  h: string;
}

/** A session of the application holding uncommitted writes on migrated tables. */
export interface WriteHolder {
  /** The server's session id (PostgreSQL pid, MySQL connection id). */
  id: string;
  /** How messages name it: `pid 4711`. */
  name: string;
  /** The tables it wrote to, where the server tells (may be empty). */
  tables: string[];
}

export interface Lag {
  pending: number;
  oldestSeconds: number;
}

/** One chunk of a table to read: the table (its `schema` resolved), and a key or physical range. */
export interface ChunkRead {
  table: Table;
  /** The table's source schema (PostgreSQL) or database (MySQL). */
  schema: string;
  range: Range | null;
  /** The columns copied, in target order (generated columns are computed by the target). */
  columns: string[];
  format: CopyFormat;
}

/** What the change log holds for one table in a batch. */
export interface LogSummary {
  tbl: string;
  truncated: boolean;
  keyed: boolean;
}

/**
 * One replay batch on the source: every change the log shows in one snapshot S, read in S. The
 * engine (uptime/replay.ts) decides what to do with it and applies it on the target; the source
 * only answers and, once the target has committed, forgets the entries it replayed.
 */
export interface ChangeBatch {
  summary: LogSummary[];
  /**
   * The distinct logged keys of row changes, as COPY text rows `(tbl text, key text[])`: each key
   * value as the text PostgreSQL reads back for the column's target type.
   */
  keys<T>(consume: (rows: Readable) => Promise<T>): Promise<T>;
  /** The table's current rows (in S) for its logged keys, minus those in `skip` (relations copied whole). */
  rows<T>(
    table: Table,
    schema: string,
    skip: readonly Table[],
    consume: (rows: Readable) => Promise<T>,
  ): Promise<T>;
  /** Every row of a relation, in S (it was truncated in the batch). */
  whole<T>(table: Table, schema: string, consume: (rows: Readable) => Promise<T>): Promise<T>;
  /** Reads in S, to validate what the batch applied (the target must equal the source at S). */
  readonly reads: SnapshotReads;
  /** Removes the entries of the batch from the log (those logged after S stay); final at commit. */
  forget(): Promise<number>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/**
 * A consistent snapshot shared by parallel readers: every session it hands out reads the source at
 * the same instant (PostgreSQL: an exported snapshot; MySQL: a brief global read lock while each
 * reader opens a consistent-snapshot transaction).
 */
export interface SharedSnapshot {
  /** A session reading in the snapshot; its close() ends its part. Refused once the readers are used up. */
  open(purpose: string): Promise<SourceSession>;
  /** The change-log entries visible in the snapshot go (when the snapshot ends with commit). */
  forgetLog(): Promise<void>;
  /**
   * Tables (their keys) the log shows truncated since the snapshot was taken: TRUNCATE is not
   * MVCC-safe, so such a table reads empty in the snapshot, whatever was copied from it before.
   */
  truncatedSince(): Promise<Set<string>>;
  end(commit: boolean): Promise<void>;
}

export interface SourceSession {
  close(): Promise<void>;
  /** Runs fn in one source transaction: state and fence changes inside it land together or not at all. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  // ferry's state store on the source.
  /** The owner its marker names: undefined when there is no store, null when the name is taken by something not ferry's. */
  storeOwner(): Promise<Recorded | null | undefined>;
  /** Every ferry state store on the server (other migrations' too). */
  stores(): Promise<StoreInfo[]>;
  getState<T>(key: string): Promise<T | undefined>;
  putState(key: string, value: unknown): Promise<void>;
  /**
   * Creates the store with its identity and `state`, the open write fence on every table of the
   * catalog, and (DowntimeOptimized; undefined in Standard mode) the change log with recording
   * triggers on the tables `recorded` names (keys). Either all of it exists afterwards or none.
   */
  createStore(
    identity: Identity,
    state: Readonly<Record<string, unknown>>,
    catalog: Catalog,
    recorded: readonly string[] | undefined,
  ): Promise<void>;
  /** Drops the store and with it every trigger of ferry's on the application's tables. */
  dropStore(): Promise<void>;

  // The write fence.
  /**
   * Puts the fence in a state. Inside transaction() the change lands with the commit (where the
   * fence cannot be transactional, right after it: a failed transaction never moves it).
   */
  setFence(state: FenceState): Promise<void>;
  /** The state the fence is in (open when there is no store). */
  fence(): Promise<FenceState>;
  /** Tables written to while the fence was detecting. */
  writesSeen(): Promise<string[]>;
  /** Sessions of others with uncommitted writes on these tables. */
  writeHolders(catalog: Catalog): Promise<WriteHolder[]>;
  /** Ends a session where the migration user may; false where it may not. */
  endSession(id: string): Promise<boolean>;
  /**
   * What keeps the fence and the recording from being exact: ferry's triggers missing or disabled
   * (the fence on every table; the recorders on `recorded`), tables emptied behind the triggers'
   * back. Each problem as a phrase naming the table.
   */
  bypassed(catalog: Catalog, recorded: readonly string[]): Promise<string[]>;

  // Recording and replay (DowntimeOptimized).
  /** A table of `tables` whose columns changed since the catalog was read, as a message; undefined when none. */
  schemaDrift(catalog: Catalog, tables: readonly string[]): Promise<string | undefined>;
  lag(): Promise<Lag>;
  /**
   * Reclaims the log entries replayed batches deleted, where the engine leaves that to a periodic
   * job (PostgreSQL's autovacuum, once a minute at best): every batch reads the whole log, and tens
   * of thousands of dead entries made each read ten times slower, on the source's CPU.
   */
  tidyLog?(): Promise<void>;
  /**
   * The log's entries in one snapshot; undefined when the log is empty, unless `evenEmpty` (a batch
   * without changes still proves units in its snapshot: uptime/proven.ts).
   */
  changeBatch(evenEmpty?: boolean): Promise<ChangeBatch | undefined>;

  // Plan and transfer.
  /** Boundaries cutting a table into `n` chunks along `by` (plan/chunks.ts); [] when it cannot be cut so. */
  boundaries(table: Table, schema: string, by: SplitBy, n: number): Promise<(string | number)[]>;
  /** Streams a chunk's rows as PostgreSQL COPY bytes into `consume` (which must read them to the end). */
  readChunk<T>(c: ChunkRead, consume: (rows: Readable) => Promise<T>): Promise<T>;
  /**
   * The Dump method's export of a chunk: its rows as readChunk streams them and, with `how`, their
   * measure, both read in one snapshot (the session's shared one, or one of its own); resolves with
   * the number of rows sent. Absent where the dialect cannot (the Dump method is refused for it).
   */
  exportChunk?(
    c: ChunkRead,
    how: Validation | undefined,
    consume: (rows: Readable) => Promise<void>,
  ): Promise<{ rows: number; measured?: Measure }>;

  // Validation.
  measure(table: Table, schema: string, range: Range | null, how: Validation): Promise<Measure>;
  /** Count and digest of the rows with these keys (each key as its texts, see ChangeBatch.keys). */
  measureKeys(table: Table, schema: string, keys: readonly string[][]): Promise<Measure>;
  /** Per key (in order), a digest of its row, or null where there is none: names the rows that differ. */
  rowDigests(table: Table, schema: string, keys: readonly string[][]): Promise<(string | null)[]>;
  /**
   * After a mismatch, to name the keys that differ (where the dialect can: TargetDigest.keyBucketsSql
   * computes the same on the target): the rows of a table or range by bucket of key hashes.
   */
  keyBuckets?(table: Table, schema: string, range: Range | null): Promise<Bucket[]>;
  /** The keys and row digests of the rows in these buckets. */
  keyedRows?(
    table: Table,
    schema: string,
    range: Range | null,
    buckets: readonly string[],
  ): Promise<KeyedRow[]>;
  /** After a mismatch, to name the columns that differ: one checksum per column, in catalog order. */
  columnChecksums?(table: Table, schema: string, range: Range | null): Promise<string[]>;
}

/** What validation reads on the source, in a session's snapshot or a change batch's. */
export type SnapshotReads = Pick<
  SourceSession,
  'measure' | 'measureKeys' | 'rowDigests' | 'keyBuckets' | 'keyedRows' | 'columnChecksums'
>;

/** The target's half of a validation: SQL computing on PostgreSQL what the source session measures. */
export interface TargetDigest {
  measureSql(schema: string, table: Table, range: Range | null, how: Validation): string;
  /** $1: the keys as a JSON array of arrays of texts. */
  measureKeysSql(schema: string, table: Table): string;
  /** $1 as above; rows (n int, h text): each key's position in $1 from 1, its row's digest (null: none). */
  rowDigestsSql(schema: string, table: Table): string;
  /** Rows (b, n, s) as SourceSession.keyBuckets, where the dialect has it. */
  keyBucketsSql?(schema: string, table: Table, range: Range | null): string;
  /** Rows (key, h) as SourceSession.keyedRows; $1: the buckets (text[]). */
  keyedRowsSql?(schema: string, table: Table, range: Range | null): string;
  /** One row (c0, c1, ...) as SourceSession.columnChecksums. */
  columnChecksumsSql?(schema: string, table: Table, range: Range | null): string;
}

export interface SourceDialect {
  readonly engine: SourceEngine;
  /**
   * Whether its COPY rows are byte for byte what the target's COPY TO writes back for the same
   * values: Checksum validation then digests COPY data (validate/digest.ts), the source's as the
   * copy reads it; otherwise it compares the dialect's digest (TargetDigest).
   */
  readonly copyDigests: boolean;
  /** `source user@host:port/database`, for messages. */
  readonly where: string;
  /** The GRANT that lets ferry end the application's sessions caught writing at the fence. */
  readonly endSessionsGrant: string;
  open(purpose: string): Promise<SourceSession>;

  /** Version, the migrated schemas, privileges; throws ConfigError for what no GRANT fixes. */
  prepare(): Promise<Prepared>;
  /** Whether `target` reaches this very database (a PostgreSQL source only can be its own target). */
  sameDatabase(target: Endpoint): Promise<boolean>;
  /** Connections the server can still accept. */
  freeConnections(): Promise<number>;
  /** The catalog of the selected tables, column types as the target creates them. */
  extract(): Promise<Catalog>;
  /** The catalog with the sequences' (auto-increment, identity) current values read again. */
  refreshSequences(catalog: Catalog): Promise<Catalog>;

  /** A snapshot for up to `readers` sessions at once, reading the catalog's tables. */
  shareSnapshot(readers: number, catalog: Catalog): Promise<SharedSnapshot>;
  readonly digest: TargetDigest;
}

/**
 * The shared snapshot is gone (its server restarted, the session holding it dropped): no retry in
 * this run can read in it again, but a new run resumes in a new snapshot (the operator's next pass).
 */
export class SnapshotLost extends Error {
  override name = 'SnapshotLost';
  constructor(why: string, options?: ErrorOptions) {
    super(
      `the source's consistent snapshot is gone (${why}): the run resumes in a new snapshot when run again`,
      options,
    );
  }
}

/** Whether `err`, or an error behind it (`cause`), is SnapshotLost. */
export function lostSnapshot(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if (e instanceof SnapshotLost) return true;
  return false;
}

/** Runs fn on a fresh source session and closes it. */
export async function withSource<T>(
  d: SourceDialect,
  purpose: string,
  fn: (s: SourceSession) => Promise<T>,
): Promise<T> {
  const s = await d.open(purpose);
  try {
    return await fn(s);
  } finally {
    await s.close().catch(() => {});
  }
}
