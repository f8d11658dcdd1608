// A PostgreSQL source (source/dialect.ts): ferry's state in the shadow schema, the write fence and
// the recorders as triggers calling functions there, chunks read with COPY TO, a shared snapshot
// exported by pg_export_snapshot.
import type { Readable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { multiSchema } from '../../api/settings.ts';
import type { Validation } from '../../api/migration.ts';
import { recordsRows } from '../../catalog/relations.ts';
import { findTable, schemaOf, tableKey } from '../../catalog/schemas.ts';
import type { Catalog, Table } from '../../catalog/types.ts';
import {
  connect,
  freeConnections,
  inTransaction,
  withClient,
  type Client,
  type Endpoint,
} from '../../db/connect.ts';
import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.ts';
import { withLockRetries } from '../../db/lock-retry.ts';
import { dropSchema } from '../../db/schemas.ts';
import type { Range, SplitBy } from '../../plan/chunks.ts';
import type { Identity } from '../../state/shadow.ts';
import { DialectBase } from '../base.ts';
import type {
  Bucket,
  ChangeBatch,
  ChunkRead,
  FenceState,
  Lag,
  Measure,
  Prepared,
  SharedSnapshot,
  SourceDialect,
  SourceSession,
  StoreInfo,
  WriteHolder,
} from '../dialect.ts';
import { SnapshotLost } from '../dialect.ts';
import { copyOutSql } from './copy.ts';
import { measureSql, postgresDigest } from './digest.ts';
import { PostgresReads } from './reads.ts';
import { refreshSequences } from './extract.ts';
import { triggersNotFiring, terminate, writeHolders, type ExpectedTrigger } from './fence.ts';
import { fenceDdl, fenceFunctionDdl, fenceTriggerName, WRITES_SEEN } from './fence-ddl.ts';
import { boundaries } from './plan.ts';
import { extract, prepare, sameDatabase } from './prepare.ts';
import {
  ddlGuardDdl,
  LOG_TABLE,
  recorderDdl,
  tableRecorderDdl,
  triggerName,
  truncateTriggerName,
} from './record.ts';
import { lag, openBatch, schemaDrift } from './replay.ts';
import { getState, putState } from '../../state/table.ts';
import { createShadow, listShadowSchemas, shadowOwner } from './store.ts';

/** SET TRANSACTION SNAPSHOT of a snapshot no session exports any more: "invalid snapshot identifier". */
const INVALID_PARAMETER_VALUE = '22023';

class PostgresSession implements SourceSession {
  private readonly c: Client;
  private readonly d: PostgresDialect;
  /** An exported snapshot every read of this session imports (SharedSnapshot). */
  private readonly snapshot: string | undefined;

  /** Validation's reads, each in the session's snapshot. */
  private readonly reads: PostgresReads;

  constructor(c: Client, d: PostgresDialect, snapshot?: string) {
    this.c = c;
    this.d = d;
    this.snapshot = snapshot;
    this.reads = new PostgresReads(c, {
      inSnapshot: (fn) => this.inSnapshot(fn),
      inSchema: (schema, fn) => this.inSchema(schema, fn),
    });
  }

  private get shadow() {
    return this.d.shadow;
  }

  close = () => this.c.end();
  transaction = <T>(fn: () => Promise<T>) => inTransaction(this.c, fn);

  storeOwner = () => shadowOwner(this.c, this.shadow);
  stores = (): Promise<StoreInfo[]> => listShadowSchemas(this.c);
  getState = <T>(key: string) => getState<T>(this.c, this.shadow, key);
  putState = (key: string, value: unknown) => putState(this.c, this.shadow, key, value);

  async createStore(
    identity: Identity,
    state: Readonly<Record<string, unknown>>,
    catalog: Catalog,
    recorded: readonly string[] | undefined,
  ): Promise<void> {
    const s = this.d.settings;
    await withLockRetries(this.c, this.d.log, 'creating the shadow schema', async () => {
      await createShadow(this.c, this.shadow, identity);
      for (const [key, value] of Object.entries(state)) await this.putState(key, value);
      // The write fence, open until the downtime: installing it now takes no lock in the downtime.
      for (const sql of fenceDdl(this.shadow, s.name, s.source.schema, catalog.tables))
        await this.c.query(sql);
      if (recorded) await this.installRecorder(catalog, recorded);
    });
  }

  /** DowntimeOptimized: the change log, its triggers, and (superuser only) the guard against schema changes. */
  private async installRecorder(catalog: Catalog, tables: readonly string[]): Promise<void> {
    const s = this.d.settings;
    for (const sql of recorderDdl(this.shadow)) await this.c.query(sql);
    for (const [i, t] of catalog.tables.entries())
      if (tables.includes(tableKey(t)))
        for (const sql of tableRecorderDdl(this.shadow, s.name, s.source.schema, t, i))
          await this.c.query(sql);
    const { rows } = await this.c.query<{ su: boolean }>(
      'SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user',
    );
    if (rows[0]?.su)
      for (const sql of ddlGuardDdl(
        this.shadow,
        s.name,
        tables.map((key) => {
          const t = findTable(catalog, key);
          return { schema: schemaOf(catalog, t), name: t.name };
        }),
      ))
        await this.c.query(sql);
    else
      this.d.log.warn(
        'not a superuser: schema changes to migrated tables are detected during replay, not blocked',
      );
    this.d.log.info({ tables: tables.length }, 'change recording triggers installed');
  }

  /** Dropping the schema drops ferry's triggers (the fence with them), which briefly locks the application's tables. */
  dropStore = () =>
    withLockRetries(this.c, this.d.log, 'removing the shadow schema', () => dropSchema(this.c, this.shadow));

  setFence = async (state: FenceState) =>
    void (await this.c.query(fenceFunctionDdl(this.shadow, this.d.settings.name, state)));

  fence = async (): Promise<FenceState> =>
    (await this.getState<{ state: FenceState }>('fence'))?.state ?? 'open';

  async writesSeen(): Promise<string[]> {
    const { rows } = await this.c.query<{ tbl: string }>(
      `SELECT tbl FROM ${qualified(this.shadow, WRITES_SEEN)} ORDER BY tbl`,
    );
    return rows.map((r) => r.tbl);
  }

  writeHolders = (catalog: Catalog): Promise<WriteHolder[]> =>
    writeHolders(
      this.c,
      catalog.tables.map((t) => ({ schema: schemaOf(catalog, t), name: t.name })),
      multiSchema(this.d.settings),
    );

  endSession = (id: string) => terminate(this.c, id);

  /** ferry's triggers missing or disabled: the fence on every table, the recorders on `recorded`. */
  bypassed(catalog: Catalog, recorded: readonly string[]): Promise<string[]> {
    const uptime = new Set(recorded);
    const name = this.d.settings.name;
    const expected = catalog.tables.flatMap((t): ExpectedTrigger[] => {
      const on = { ...(t.schema !== undefined ? { schema: t.schema } : {}), table: t.name };
      const key = tableKey(t);
      return [
        { ...on, trigger: fenceTriggerName(name) },
        ...(uptime.has(key) ? [{ ...on, trigger: truncateTriggerName(name) }] : []),
        ...(uptime.has(key) && recordsRows(t) ? [{ ...on, trigger: triggerName(name) }] : []),
      ];
    });
    return triggersNotFiring(this.c, this.d.settings.source.schema, expected);
  }

  schemaDrift = (catalog: Catalog, tables: readonly string[]) => schemaDrift(this.c, catalog, tables);
  lag = (): Promise<Lag> => lag(this.c, this.shadow);
  // Without truncating the file: that takes a lock the application's inserts into the log would wait on.
  tidyLog = async (): Promise<void> =>
    void (await this.c.query(`VACUUM (TRUNCATE false) ${qualified(this.shadow, LOG_TABLE)}`));
  changeBatch = (evenEmpty = false): Promise<ChangeBatch | undefined> =>
    openBatch(this.c, this.shadow, evenEmpty);

  boundaries = (table: Table, schema: string, by: SplitBy, n: number) =>
    boundaries(this.c, schema, table, by, n);

  readChunk<T>(read: ChunkRead, consume: (rows: Readable) => Promise<T>): Promise<T> {
    return this.inSnapshot(() => this.consumeCopy(this.c.query(copyTo(copyOutSql(read))), consume));
  }

  /**
   * A COPY given up part-way (its consumer failed: the target went away, say) leaves the server
   * writing into a socket nobody reads, and every later statement on the session (the snapshot's
   * COMMIT, a ROLLBACK) would queue behind it for ever. The session's socket goes at once; pg's
   * end() then returns at once too, and the caller opens another session.
   */
  private async consumeCopy<R extends Readable, T>(rows: R, consume: (rows: R) => Promise<T>): Promise<T> {
    try {
      return await consume(rows);
    } catch (err) {
      this.c.connection.stream.destroy();
      throw err;
    }
  }

  /** One REPEATABLE READ transaction (in the shared snapshot, if any) measures the chunk and copies it out. */
  async exportChunk(
    read: ChunkRead,
    how: Validation | undefined,
    consume: (rows: Readable) => Promise<void>,
  ): Promise<{ rows: number; measured?: Measure }> {
    await this.c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      if (this.snapshot) await this.joinSnapshot(this.snapshot);
      const measured = how
        ? (await this.c.query<Measure>(measureSql(read.schema, read.table, read.range, how))).rows[0]!
        : undefined;
      const copy = this.c.query(copyTo(copyOutSql(read)));
      await this.consumeCopy(copy, consume);
      // The COPY's row count arrives with its completion, which the COMMIT queues behind.
      await this.c.query('COMMIT');
      return { rows: Number(copy.rowCount ?? 0), ...(measured && { measured }) };
    } catch (err) {
      await this.c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  measure = (table: Table, schema: string, range: Range | null, how: Validation): Promise<Measure> =>
    this.reads.measure(table, schema, range, how);
  measureKeys = (table: Table, schema: string, keys: readonly string[][]): Promise<Measure> =>
    this.reads.measureKeys(table, schema, keys);
  rowDigests = (table: Table, schema: string, keys: readonly string[][]): Promise<(string | null)[]> =>
    this.reads.rowDigests(table, schema, keys);
  keyBuckets = (table: Table, schema: string, range: Range | null): Promise<Bucket[]> =>
    this.reads.keyBuckets(table, schema, range);
  keyedRows = (table: Table, schema: string, range: Range | null, buckets: readonly string[]) =>
    this.reads.keyedRows(table, schema, range, buckets);
  columnChecksums = (table: Table, schema: string, range: Range | null): Promise<string[]> =>
    this.reads.columnChecksums(table, schema, range);

  /** Runs a read inside the shared snapshot when the session has one (a transaction of its own each time). */
  private async inSnapshot<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.snapshot) return fn();
    await this.c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      await this.joinSnapshot(this.snapshot);
      return await fn();
    } finally {
      await this.c.query('COMMIT').catch(() => {});
    }
  }

  /** Reads the open transaction in the shared snapshot; one whose exporter is gone is SnapshotLost. */
  private async joinSnapshot(snapshot: string): Promise<void> {
    try {
      await this.c.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== INVALID_PARAMETER_VALUE) throw err;
      throw new SnapshotLost((err as Error).message, { cause: err });
    }
  }

  /** Key casts name types relative to the table's schema (user types are unqualified in the catalog). */
  private async inSchema<T>(schema: string, fn: () => Promise<T>): Promise<T> {
    await this.c.query('BEGIN');
    try {
      await this.c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
      return await fn();
    } finally {
      await this.c.query('COMMIT');
    }
  }
}

export class PostgresDialect extends DialectBase implements SourceDialect {
  readonly engine = 'postgres';
  /** Both sides render values under the same settings (db/connect.ts RENDERING): COPY bytes compare. */
  readonly copyDigests = true;
  readonly digest = postgresDigest;

  get endSessionsGrant(): string {
    return `GRANT pg_signal_backend TO ${this.settings.source.user}`;
  }

  async open(purpose: string, snapshot?: string): Promise<SourceSession> {
    return new PostgresSession(await connect(this.endpoint, purpose), this, snapshot);
  }

  prepare = (): Promise<Prepared> =>
    withClient(this.endpoint, 'prepare', (c) => prepare(c, this.endpoint, this.settings));
  sameDatabase = (target: Endpoint) => withClient(this.endpoint, 'prepare', (c) => sameDatabase(c, target));
  freeConnections = () => withClient(this.endpoint, 'configure', freeConnections);
  extract = () => withClient(this.endpoint, 'extract', (c) => extract(c, this.endpoint, this.settings));
  refreshSequences = (catalog: Catalog) =>
    withClient(this.endpoint, 'sequences', (c) => refreshSequences(c, catalog));

  /**
   * One REPEATABLE READ transaction exports its snapshot; every reader imports it (any number, at any
   * time while it lasts). Deleting the change log in that transaction deletes what the snapshot shows.
   */
  async shareSnapshot(): Promise<SharedSnapshot> {
    const coordinator = await connect(this.endpoint, 'snapshot');
    // Only the snapshot's own forgetLog deletes entries while it lasts: more TRUNCATE entries than
    // it shows are later ones.
    const truncations = async (c: Client) =>
      new Map(
        (
          await c.query<{ tbl: string; n: number }>(
            `SELECT tbl, count(*)::int AS n FROM ${qualified(this.shadow, LOG_TABLE)} WHERE op = 'T' GROUP BY tbl`,
          )
        ).rows.map((r) => [r.tbl, r.n]),
      );
    let snapshot: string;
    let before: Map<string, number>;
    try {
      await coordinator.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      snapshot = (await coordinator.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
      before = await truncations(coordinator);
    } catch (err) {
      await coordinator.end().catch(() => {});
      throw err;
    }
    return {
      open: (purpose) => this.open(purpose, snapshot),
      forgetLog: async () =>
        void (await coordinator.query(`DELETE FROM ${qualified(this.shadow, LOG_TABLE)}`)),
      truncatedSince: async () => {
        const now = await withClient(this.endpoint, 'snapshot', truncations);
        return new Set([...now].filter(([t, n]) => n > (before.get(t) ?? 0)).map(([t]) => t));
      },
      end: async (commit) => {
        try {
          await coordinator.query(commit ? 'COMMIT' : 'ROLLBACK');
        } finally {
          await coordinator.end().catch(() => {});
        }
      },
    };
  }
}
