// A SQL Server source (source/dialect.ts): ferry's state in a schema `ferry_<migration>` of the source
// database (store.ts), one trigger per migrated table that is both the write fence and, in
// DowntimeOptimized, the change recorder (fence.ts, record.ts), an empty guard table whose foreign key
// makes the server refuse TRUNCATE, rows read through tedious and encoded as the text PostgreSQL
// prints for the mapped type (read.ts, encode.ts; large (max) values in slices, large-values.ts), a snapshot shared by parallel readers in SNAPSHOT
// isolation (read.ts), change batches in one SNAPSHOT transaction each (replay.ts). Its COPY text is
// PostgreSQL's own output, so Checksum validation digests COPY data (copyDigests) and the key-level
// digests are computed in Node the way the PostgreSQL source's SQL computes them (digest.ts).
import type { Readable } from 'node:stream';
import { multiSchema } from '../../api/settings.ts';
import type { Validation } from '../../api/migration.ts';
import { schemaOf, tableKey } from '../../catalog/schemas.ts';
import type { Catalog, Table } from '../../catalog/types.ts';
import type { Range, SplitBy } from '../../plan/chunks.ts';
import { selectTables } from '../../plan/select.ts';
import type { Identity } from '../../state/shadow.ts';
import { DialectBase } from '../base.ts';
import type {
  Bucket,
  ChangeBatch,
  ChunkRead,
  FenceState,
  KeyedRow,
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
import { buildCatalog, readRawCatalog, readSequenceStates, withSequenceStates } from './catalog.ts';
import { MssqlConnection, mssqlQualified } from './connect.ts';
import {
  bucketsOf,
  columnChecksumsOf,
  inBuckets,
  keyedRowsOf,
  keyText,
  Measurer,
  mssqlDigest,
  rowDigestOf,
  type Texts,
} from './digest.ts';
import { canonicalText, rowTexts, selectExpression } from './encode.ts';
import {
  bypassed,
  endSession,
  fenceState,
  ownTriggers,
  setFence,
  writeHolders,
  writesSeen,
} from './fence.ts';
import { endSessionsGrant, prepare } from './prepare.ts';
import { chunkSql, keyBoundaries, keysWhere, openSnapshot, rangePredicate, readChunk } from './read.ts';
import {
  forgetSql,
  lag,
  loggedOf,
  maxIdsSql,
  openBatch,
  schemaDrift,
  type Logged,
  type ValueCodec,
} from './replay.ts';
import { createStore, dropStore, getState, listStores, putState, storeOwner } from './store.ts';

const codec: ValueCodec = { selectExpression, canonicalText };

/** Keys per statement when rows are read by key: a predicate of a few hundred ORed keys. */
const KEYS_PER_READ = 200;

class MssqlSession implements SourceSession {
  private readonly c: MssqlConnection;
  private readonly d: MssqlDialect;
  /** A reader of a shared snapshot: close() gives the session back (unless it broke) instead of ending it. */
  private readonly release: ((c: MssqlConnection, broken: boolean) => void) | undefined;
  private broken = false;

  constructor(c: MssqlConnection, d: MssqlDialect, release?: (c: MssqlConnection, broken: boolean) => void) {
    this.c = c;
    this.d = d;
    this.release = release;
  }

  private get store() {
    return this.d.shadow;
  }
  private get conversion() {
    return this.d.settings.conversion;
  }

  async close(): Promise<void> {
    if (this.release) return this.release(this.c, this.broken || this.c.closed);
    await this.c.close();
  }

  /** SQL Server's DDL and the fence's table are transactional: everything lands with the commit. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.c.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.c.run('COMMIT TRANSACTION');
      return result;
    } catch (err) {
      await this.c.run('IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION').catch(() => {});
      throw err;
    }
  }

  storeOwner = () => storeOwner(this.c, this.store);
  stores = (): Promise<StoreInfo[]> => listStores(this.c);
  getState = <T>(key: string) => getState<T>(this.c, this.store, key);
  putState = (key: string, value: unknown) => putState(this.c, this.store, key, value);

  async createStore(
    identity: Identity,
    state: Readonly<Record<string, unknown>>,
    catalog: Catalog,
    recorded: readonly string[] | undefined,
  ): Promise<void> {
    await createStore(this.c, this.d.log, {
      store: this.store,
      migration: this.d.settings.name,
      identity,
      state,
      catalog,
      recorded,
    });
    if (recorded) this.d.log.info({ tables: recorded.length }, 'change recording triggers installed');
  }

  dropStore = () => dropStore(this.c, this.d.log, this.store);

  setFence = (state: FenceState) => setFence(this.c, this.store, state);
  fence = () => fenceState(this.c, this.store);
  writesSeen = () => writesSeen(this.c, this.store);
  writeHolders = (catalog: Catalog): Promise<WriteHolder[]> =>
    writeHolders(this.c, catalog, this.d.settings.source.user);
  endSession = (id: string) => endSession(this.c, id);
  /** One trigger per table fences and records; the guards keep TRUNCATE out: both are checked on every table. */
  bypassed = (catalog: Catalog) => bypassed(this.c, this.store, catalog);

  schemaDrift = (catalog: Catalog, tables: readonly string[]) => schemaDrift(this.c, catalog, tables);

  /** The recorded tables and their logs, as the store records them, read once per session. */
  private logged: Logged[] | undefined;
  async logs(): Promise<Logged[]> {
    if (!this.logged) {
      const catalog = await this.getState<Catalog>('catalog');
      this.logged = catalog ? loggedOf(catalog, (await this.getState<string[]>('recorded')) ?? []) : [];
    }
    return this.logged;
  }

  lag = async (): Promise<Lag> => lag(this.c, this.store, await this.logs());

  /** The batch's reads run on this session, inside the batch's SNAPSHOT transaction. */
  changeBatch = async (evenEmpty = false): Promise<ChangeBatch | undefined> =>
    openBatch(
      this.c,
      { store: this.store, logged: await this.logs(), conversion: this.conversion, codec, evenEmpty },
      this,
    );

  async boundaries(table: Table, schema: string, by: SplitBy, n: number): Promise<(string | number)[]> {
    // No physical ranges on SQL Server: a table without a key that can be cut is one chunk.
    if (by.kind !== 'key') return [];
    return keyBoundaries(this.c, schema, table, by.column, n);
  }

  async readChunk<T>(read: ChunkRead, consume: (rows: Readable) => Promise<T>): Promise<T> {
    if (read.format !== 'text') throw new Error('internal: a SQL Server source reads COPY text only');
    const rows = readChunk(this.c, read.table, read.schema, read.columns, read.range, {
      name: tableKey(read.table),
      conversion: this.conversion,
    });
    try {
      return await consume(rows);
    } catch (err) {
      // A result read only in part may leave the session mid-request: it goes, the caller opens another.
      this.broken = true;
      rows.destroy();
      throw err;
    }
  }

  // Validation: every row's canonical texts (all columns, generated ones too), digested here as the
  // target's SQL digests them there.

  /** Runs `sql` (a SELECT of every column of `table`, chunkSql's order) handing each row's texts to `each`. */
  private async eachRow(table: Table, sql: string, each: (texts: Texts) => void): Promise<void> {
    const texts = rowTexts(table.columns, tableKey(table), this.conversion, table.key);
    await this.c.stream(sql, [], { row: (values) => each(texts(values)) });
  }

  private allColumns = (t: Table) => t.columns.map((c) => c.name);

  async measure(table: Table, schema: string, range: Range | null, how: Validation): Promise<Measure> {
    if (how === 'Count') {
      const [r] = await this.c.rows(
        `SELECT CONVERT(varchar(20), COUNT_BIG(*)) AS n FROM ${mssqlQualified(schema, table.name)} ${rangePredicate(table, range)}`,
      );
      return { rows: r!['n'] as string, checksum: null };
    }
    const m = new Measurer(how);
    await this.eachRow(table, chunkSql(schema, table, this.allColumns(table), range), (t) => m.add(t));
    return m.result();
  }

  /** The rows with these keys (key texts as PostgreSQL writes them), a few hundred keys per statement. */
  private async rowsByKey(table: Table, schema: string, keys: readonly string[][], each: (t: Texts) => void) {
    const keyCols = table.key.map((k) => table.columns.find((c) => c.name === k)!);
    for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
      const part = keys.slice(i, i + KEYS_PER_READ);
      const sql = `${chunkSql(schema, table, this.allColumns(table), null)} WHERE ${keysWhere(keyCols, part)}`;
      await this.eachRow(table, sql, each);
    }
  }

  async measureKeys(table: Table, schema: string, keys: readonly string[][]): Promise<Measure> {
    const m = new Measurer('Checksum');
    await this.rowsByKey(table, schema, keys, (t) => m.add(t));
    return m.result();
  }

  async rowDigests(table: Table, schema: string, keys: readonly string[][]): Promise<(string | null)[]> {
    const at = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    const found = new Map<string, string>();
    await this.rowsByKey(table, schema, keys, (t) =>
      found.set(keyText(at.map((j) => t[j]!)), rowDigestOf(t)),
    );
    return keys.map((k) => found.get(keyText(k)) ?? null);
  }

  /** After a mismatch only: the range's rows are digested here, bucket by bucket as the target's SQL does. */
  private async keyedRows_(table: Table, schema: string, range: Range | null): Promise<KeyedRow[]> {
    const rows = await this.rangeRows(table, schema, range);
    return keyedRowsOf(
      rows,
      table.key.map((k) => table.columns.findIndex((c) => c.name === k)),
    );
  }

  keyBuckets = async (table: Table, schema: string, range: Range | null): Promise<Bucket[]> =>
    bucketsOf(await this.keyedRows_(table, schema, range));

  keyedRows = async (table: Table, schema: string, range: Range | null, buckets: readonly string[]) =>
    inBuckets(await this.keyedRows_(table, schema, range), buckets);

  async columnChecksums(table: Table, schema: string, range: Range | null): Promise<string[]> {
    return columnChecksumsOf(await this.rangeRows(table, schema, range), table.columns.length);
  }

  /** Every row of a table or range, as texts (after a mismatch only: they are held). */
  private async rangeRows(table: Table, schema: string, range: Range | null): Promise<Texts[]> {
    const rows: Texts[] = [];
    await this.eachRow(table, chunkSql(schema, table, this.allColumns(table), range), (t) => rows.push(t));
    return rows;
  }
}

export class MssqlDialect extends DialectBase implements SourceDialect {
  readonly engine = 'mssql';
  /** Its COPY text is PostgreSQL's own output for the mapped types (encode.ts). */
  readonly copyDigests = true;
  readonly digest = mssqlDigest;

  get endSessionsGrant(): string {
    return endSessionsGrant(this.settings.source.user);
  }

  open = async (): Promise<SourceSession> =>
    new MssqlSession(await MssqlConnection.open(this.endpoint), this);

  private async with<T>(fn: (c: MssqlConnection) => Promise<T>): Promise<T> {
    const c = await MssqlConnection.open(this.endpoint);
    try {
      return await fn(c);
    } finally {
      await c.close();
    }
  }

  private get schemas(): string[] {
    return this.settings.schemas.map((p) => p.source);
  }

  prepare = (): Promise<Prepared> => this.with((c) => prepare(c, this.endpoint, this.settings, this.shadow));

  /** The target is PostgreSQL: never this server. */
  sameDatabase = async () => false;

  freeConnections = () =>
    this.with(async (c) => {
      const [r] = await c.rows(
        `SELECT @@MAX_CONNECTIONS - (SELECT COUNT(*) FROM sys.dm_exec_connections) AS n`,
      );
      return Number(r!['n']);
    }).catch(() => Number.MAX_SAFE_INTEGER);

  extract = () =>
    this.with(async (c) => {
      const s = this.settings;
      const raw = await readRawCatalog(c, this.schemas);
      const qualified = multiSchema(s);
      const name = (schema: string, table: string) => (qualified ? `${schema}.${table}` : table);
      const chosen = new Set(
        selectTables(
          raw.tables.map((t) => name(t.schema, t.name)),
          s.include,
          s.exclude,
          new Map(),
          qualified,
        ),
      );
      const { catalog, refused } = buildCatalog(raw, {
        schemas: s.schemas,
        select: (schema, table) => chosen.has(name(schema, table)),
        typeMap: s.typeMap,
        ours: (_schema, trigger) => ownTriggers(this.shadow, [trigger]).length > 0,
      });
      return refused.length ? { ...catalog, refused } : catalog;
    });

  /** Identities' and sequences' values read again: at cutover the application has moved them on. */
  refreshSequences = (catalog: Catalog) =>
    this.with(async (c) => withSequenceStates(catalog, await readSequenceStates(c, this.schemas)));

  /**
   * `readers` sessions in one SNAPSHOT instant (read.ts), handed out and taken back as the
   * transfer's and the validation's workers come and go. forgetLog deletes, in a reader's snapshot,
   * the log entries the snapshot shows (their changes are in the copy); they go for good only when
   * the snapshot ends with commit.
   */
  async shareSnapshot(readers: number, catalog: Catalog): Promise<SharedSnapshot> {
    const tables = catalog.tables.map((t) => ({ schema: schemaOf(catalog, t), name: t.name }));
    // One more reader than asked: forgetLog's deletions stay in a session no worker breaks.
    const snapshot = await openSnapshot(() => MssqlConnection.open(this.endpoint), tables, readers + 1);
    const [keeper, ...workers] = snapshot.readers;
    const idle = [...workers];
    return {
      open: async () => {
        const c = idle.pop();
        if (!c) throw new SnapshotLost('every reader holding it lost its connection');
        return new MssqlSession(c, this, (back, broken) => {
          if (!broken) idle.push(back);
        });
      },
      forgetLog: async () => {
        const session = new MssqlSession(keeper!, this, () => {});
        const logged = await session.logs();
        if (!logged.length) return;
        const [r] = await keeper!.rows(maxIdsSql(this.shadow, logged));
        for (const [j, l] of logged.entries()) {
          const max = r?.[`m${j}`];
          if (typeof max === 'string') await keeper!.run(forgetSql(this.shadow, l, max));
        }
      },
      // The guards make TRUNCATE impossible while the store exists.
      truncatedSince: async () => new Set<string>(),
      end: async (commit) => {
        if (commit && keeper!.closed)
          throw new SnapshotLost("the session holding the log entries the snapshot's copy replaced was lost");
        await snapshot.close(commit);
      },
    };
  }
}
