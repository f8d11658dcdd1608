// A MySQL/MariaDB source (source/dialect.ts): ferry's state in a database `ferry_<migration>` on the
// source server, the write fence and the recorders as triggers reading and writing there, chunks
// read with mysql2 and encoded into PostgreSQL COPY rows (read.ts, encode.ts), a snapshot shared by
// parallel readers under a brief global read lock (read.ts), the validation digest computed alike on
// both servers (digest.ts).
import type { Readable } from 'node:stream';
import type { Connection } from 'mysql2';
import type { Validation } from '../../api/migration.ts';
import { DialectBase } from '../base.ts';
import { tableKey } from '../../catalog/schemas.ts';
import type { Catalog, Table } from '../../catalog/types.ts';
import type { Range, SplitBy } from '../../plan/chunks.ts';
import { matchesAny, selectTables } from '../../plan/select.ts';
import type { Identity } from '../../state/shadow.ts';
import type {
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
  TargetDigest,
  WriteHolder,
} from '../dialect.ts';
import { SnapshotLost } from '../dialect.ts';
import { buildCatalog, mysqlInfo, readRawCatalog } from './catalog.ts';
import { connectionOptions, openSession, rows, run } from './connect.ts';
import { mysqlMeasureSql, postgresMeasureSql } from './digest.ts';
import {
  mysqlMeasureKeysSql,
  mysqlRowDigestsSql,
  postgresMeasureKeysSql,
  postgresRowDigestsSql,
} from './key-digest.ts';
import { keyRefusal } from './keys.ts';
import { logTableDdl, recorderTriggersDdl, type KeyColumn } from './record.ts';
import { forgetRuns, lag, openBatch, schemaDrift, snapshotRuns, type Logged } from './replay.ts';
import {
  endSession,
  fenceState,
  fenceTablesDdl,
  fenceTriggersDdl,
  ownTriggers,
  setFence,
  tableIds,
  triggerName,
  triggersPresent,
  writeHolders,
  writesSeen,
  EVENTS,
} from './fence.ts';
import { prepare, server } from './prepare.ts';
import { spreadOverSessions } from './spread.ts';
import { keyBoundaries, mysqlIdent, openSnapshot, readChunk } from './read.ts';
import {
  createStore,
  getState,
  listStores,
  mysqlQualified,
  putState,
  storeOwner,
  withLockRetries,
} from './store.ts';

/** What createStore records of the tables: InnoDB's table ids, which TRUNCATE and rebuilds change. */
interface TableIds {
  [key: string]: string;
}

/** The key columns' definitions, as the log tables repeat them. */
async function keyColumns(c: Connection, database: string, t: Table): Promise<KeyColumn[]> {
  const cols = await rows(
    c,
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS ty, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS co
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [database, t.name],
  );
  return t.key.map((k) => {
    const r = cols.find((x) => x['name'] === k);
    if (!r) throw new Error(`internal: key column ${k} of ${t.name} not found`);
    return { name: k, columnType: r['ty']!, charset: r['cs'] ?? null, collation: r['co'] ?? null };
  });
}

/**
 * DowntimeOptimized: tables whose changes the triggers cannot record. A key ferry cannot hand the
 * target as text; and rows a cascading foreign key changes (MySQL fires no trigger for them): such a
 * table is left out of spec.uptime.tables and copied in the downtime instead.
 */
export function unrecordable(catalog: Catalog, uptime: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of catalog.tables.filter((x) => matchesAny(x.name, uptime))) {
    for (const k of t.key) {
      const why = keyRefusal(t.columns.find((c) => c.name === k)!);
      if (why) out.push(`table ${t.name}, key column ${k}: ${why}`);
    }
    for (const f of t.constraints.filter((c) => c.kind === 'f'))
      if (/ON (DELETE|UPDATE) (CASCADE|SET NULL|SET DEFAULT)/.test(f.definition))
        out.push(
          `table ${t.name}: its foreign key ${f.name} changes rows by cascade, which fires no trigger in MySQL, ` +
            'so DowntimeOptimized cannot record them: leave the table out of spec.uptime.tables (it is then copied in the downtime)',
        );
  }
  return out;
}

const ER_LOCK_WAIT_TIMEOUT = 1205;

class MysqlSession implements SourceSession {
  private readonly c: Connection;
  private readonly d: MysqlDialect;
  /** Inside transaction(): fence changes wait for the commit (the fence's table is not transactional). */
  private deferred: FenceState | undefined;
  private inTransaction = false;

  /** A reader of a shared snapshot: close() gives the connection back (unless it broke) instead of ending it. */
  private readonly release: ((c: Connection, broken: boolean) => void) | undefined;
  private broken = false;

  constructor(c: Connection, d: MysqlDialect, release?: (c: Connection, broken: boolean) => void) {
    this.c = c;
    this.d = d;
    this.release = release;
  }

  private get store() {
    return this.d.shadow;
  }
  private get database() {
    return this.d.settings.source.database;
  }

  async close(): Promise<void> {
    if (this.release) return this.release(this.c, this.broken);
    await new Promise<void>((resolve) => this.c.end(() => resolve()));
  }

  /** The logged tables as the store records them (the bulk copy's snapshot forgets their entries). */
  logsFor = () => this.logs();

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await run(this.c, 'START TRANSACTION');
    this.inTransaction = true;
    this.deferred = undefined;
    let result: T;
    try {
      result = await fn();
      await run(this.c, 'COMMIT');
    } catch (err) {
      await run(this.c, 'ROLLBACK').catch(() => {});
      throw err;
    } finally {
      this.inTransaction = false;
    }
    const fence = this.deferred;
    this.deferred = undefined;
    if (fence) await setFence(this.c, this.store, fence);
    return result;
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
    const { mariadb } = await server(this.c);
    await createStore(this.c, this.store, identity);
    for (const sql of fenceTablesDdl(this.store, mariadb)) await run(this.c, sql);
    const logged = recorded ? this.loggedOf(catalog, recorded) : [];
    if (recorded) await this.putState('recorded', recorded);
    const ids = await tableIds(this.c, this.database, catalog.tables);
    const unknown = catalog.tables.filter((t) => !ids.has(tableKey(t)));
    if (unknown.length)
      throw new Error(
        `cannot find InnoDB's id of table ${unknown.map(tableKey).join(', ')} (information_schema.INNODB_SYS_TABLES): ` +
          'ferry could not tell a TRUNCATE of it; rename it to letters, digits and _, or leave it out (spec.tables.exclude)',
      );
    await this.putState('tables', Object.fromEntries(ids) satisfies TableIds);
    const name = this.d.settings.name;
    const present = await triggersPresent(this.c, this.database);
    const recorders = new Set(logged.map((l) => l.index));
    // Per table: its log, then its fence, then its recorders (which write to the log).
    await this.perTable(catalog.tables.entries(), async (c, [i, t]) => {
      if (recorders.has(i)) await run(c, logTableDdl(this.store, i, await keyColumns(c, this.database, t)));
      const triggers = [
        ...fenceTriggersDdl(this.store, name, this.database, t, i).map((sql, j) => ({
          sql,
          name: triggerName(this.store, 'b', EVENTS[j]![0], i),
        })),
        ...(recorders.has(i)
          ? recorderTriggersDdl(this.store, this.database, t, i).map((sql, j) => ({
              sql,
              name: triggerName(this.store, 'a', EVENTS[j]![0], i),
            }))
          : []),
      ].filter((x) => !present.has(x.name));
      await this.inOrder(
        c,
        'installing the write fence and the change recorders',
        triggers.map((x) => x.sql),
      );
    });
    if (recorded) this.d.log.info({ tables: logged.length }, 'change recording triggers installed');
    // The phase last: a store without it is one whose creation was cut short.
    const { phase, ...rest } = state;
    for (const [key, value] of Object.entries(rest)) await this.putState(key, value);
    if (phase !== undefined) await this.putState('phase', phase);
  }

  /** ferry's triggers first (they read ferry's database: without it they would fail the application's writes), then the database. */
  async dropStore(): Promise<void> {
    const byTable = new Map<string, string[]>();
    for (const t of ownTriggers(this.store, [...(await triggersPresent(this.c, this.database))])) {
      const table = /[0-9]+$/.exec(t)![0];
      byTable.set(table, [...(byTable.get(table) ?? []), t]);
    }
    await this.perTable(byTable.values(), (c, triggers) =>
      this.inOrder(
        c,
        'removing the triggers',
        triggers.map((t) => `DROP TRIGGER IF EXISTS ${mysqlQualified(this.database, t)}`),
      ),
    );
    await run(this.c, `DROP DATABASE IF EXISTS ${mysqlIdent(this.store)}`);
  }

  /** Work per table over this session and as many more as the transfer has workers (spread.ts). */
  private perTable<T>(items: Iterable<T>, work: (c: Connection, item: T) => Promise<void>): Promise<void> {
    const open = () => openSession(this.d.endpoint);
    return spreadOverSessions(this.c, open, this.d.settings.parallelism + 1, [...items], work);
  }

  /** DDL on one application table, in order; after a lost lock race, again from the statement that lost it. */
  private async inOrder(c: Connection, what: string, statements: readonly string[]): Promise<void> {
    let done = 0;
    if (statements.length)
      await withLockRetries(c, this.d.log, what, async () => {
        for (; done < statements.length; done++) await run(c, statements[done]!);
      });
  }

  async setFence(state: FenceState): Promise<void> {
    if (this.inTransaction) this.deferred = state;
    else await setFence(this.c, this.store, state);
  }

  fence = () => fenceState(this.c, this.store);
  writesSeen = () => writesSeen(this.c, this.store);
  writeHolders = (catalog: Catalog): Promise<WriteHolder[]> => writeHolders(this.c, this.database, catalog);
  endSession = (id: string) => endSession(this.c, id);

  async bypassed(catalog: Catalog, recorded: readonly string[]): Promise<string[]> {
    const present = await triggersPresent(this.c, this.database);
    const uptime = new Set(recorded);
    const problems = catalog.tables.flatMap((t, i) =>
      EVENTS.flatMap(([e]) => [
        triggerName(this.store, 'b', e, i),
        ...(uptime.has(tableKey(t)) ? [triggerName(this.store, 'a', e, i)] : []),
      ])
        .filter((n) => !present.has(n))
        .map((n) => `${n} on ${tableKey(t)}`),
    );
    // A recorded table's TRUNCATE is the replay's to copy (changeBatch); any other breaks the copy.
    const unrecorded = catalog.tables.filter((t) => !uptime.has(tableKey(t)));
    const before = (await this.getState<TableIds>('tables')) ?? {};
    const now = await tableIds(this.c, this.database, unrecorded);
    for (const t of unrecorded)
      if (before[tableKey(t)] !== now.get(tableKey(t)))
        problems.push(
          `${tableKey(t)} emptied or rebuilt (TRUNCATE, ALTER or OPTIMIZE TABLE; MySQL fires no trigger)`,
        );
    return problems;
  }

  /** The tables whose changes are logged, and their logs' positions. */
  private loggedOf(catalog: Catalog, recorded: readonly string[]): Logged[] {
    return catalog.tables.flatMap((table, index) =>
      recorded.includes(tableKey(table)) ? [{ table, index }] : [],
    );
  }

  /** The InnoDB ids the last committed batch saw (changeBatch), read once per session. */
  private seenIds: TableIds | undefined;

  /** What the store records of the logs (the catalog and the recorded tables), read once per session. */
  private logged: Logged[] | undefined;
  private async logs(): Promise<Logged[]> {
    this.logged ??= this.loggedOf(
      (await this.getState<Catalog>('catalog')) ?? {
        schema: '',
        serverVersion: 0,
        types: [],
        sequences: [],
        tables: [],
      },
      (await this.getState<string[]>('recorded')) ?? [],
    );
    return this.logged;
  }

  schemaDrift = (catalog: Catalog, tables: readonly string[]) =>
    schemaDrift(
      this.c,
      this.database,
      catalog.tables.filter((t) => tables.includes(tableKey(t))),
      (t, column) => mysqlInfo(t.columns.find((c) => c.name === column)!).type.columnType,
    );

  lag = async (): Promise<Lag> => lag(this.c, this.store, await this.logs());

  /**
   * The session's reads run in the batch's consistent snapshot: it holds the connection's
   * transaction. TRUNCATE fires no trigger: a recorded table whose InnoDB id changed since the last
   * batch is copied whole. The ids are read before the snapshot opens, so a TRUNCATE after the read
   * shows in the next batch; they are kept once the batch has committed.
   */
  changeBatch = async (evenEmpty = false): Promise<ChangeBatch | undefined> => {
    const logged = await this.logs();
    // Read once per session: only this session's batches change it afterwards.
    this.seenIds ??= (await this.getState<TableIds>('tables')) ?? {};
    const seen = this.seenIds;
    const now = await tableIds(
      this.c,
      this.database,
      logged.map((l) => l.table),
    );
    const truncated = new Set([...now].filter(([key, id]) => seen[key] !== id).map(([key]) => key));
    const batch = await openBatch(
      this.c,
      {
        store: this.store,
        database: this.database,
        logged,
        conversion: this.d.settings.conversion,
        evenEmpty,
        truncated,
      },
      this,
    );
    if (!batch || !truncated.size) return batch;
    return {
      ...batch,
      commit: async () => {
        await batch.commit();
        this.seenIds = { ...seen, ...Object.fromEntries(now) };
        await this.putState('tables', this.seenIds);
        this.d.log.warn({ tables: [...truncated] }, 'emptied by TRUNCATE (or rebuilt): copied whole');
      },
    };
  };

  async boundaries(table: Table, _schema: string, by: SplitBy, n: number): Promise<(string | number)[]> {
    // No physical ranges: a table without a usable key is one chunk.
    if (by.kind !== 'key') return [];
    return keyBoundaries(this.c, this.database, table, by.column, n);
  }

  async readChunk<T>(read: ChunkRead, consume: (rows: Readable) => Promise<T>): Promise<T> {
    const stream = readChunk(this.c, this.database, read.table, read.columns, read.range, {
      name: tableKey(read.table),
      conversion: this.d.settings.conversion,
      format: read.format,
    });
    try {
      return await consume(stream);
    } catch (err) {
      // A result read only in part leaves the session unusable: it goes, the caller opens another.
      this.broken = true;
      this.c.destroy();
      throw err;
    }
  }

  async measure(table: Table, _schema: string, range: Range | null, how: Validation): Promise<Measure> {
    const [r] = await rows(
      this.c,
      mysqlMeasureSql(this.database, table, range, how, { zeroDates: this.d.settings.conversion.zeroDates }),
    );
    return { rows: r!['rows']!, checksum: r!['checksum'] ?? null };
  }

  async measureKeys(table: Table, _schema: string, keys: readonly string[][]): Promise<Measure> {
    const sql = mysqlMeasureKeysSql(this.database, table, await this.collations(table), this.digestOptions);
    const [r] = await rows(this.c, sql, [JSON.stringify(keys)]);
    return { rows: r!['rows']!, checksum: r!['checksum'] ?? null };
  }

  async rowDigests(table: Table, _schema: string, keys: readonly string[][]): Promise<(string | null)[]> {
    const sql = mysqlRowDigestsSql(this.database, table, await this.collations(table), this.digestOptions);
    const found = new Map(
      (await rows(this.c, sql, [JSON.stringify(keys)])).map((r) => [Number(r['n']), r['h']]),
    );
    return keys.map((_, i) => found.get(i + 1) ?? null);
  }

  private get digestOptions() {
    return { zeroDates: this.d.settings.conversion.zeroDates };
  }

  /** The key columns' collations: a key text compares under the column's own. */
  private async collations(table: Table): Promise<(string | null)[]> {
    const cols = await keyColumns(this.c, this.database, table);
    return cols.map((k) => k.collation);
  }
}

export const mysqlDigest: TargetDigest = {
  measureSql: postgresMeasureSql,
  measureKeysSql: postgresMeasureKeysSql,
  rowDigestsSql: postgresRowDigestsSql,
};

export class MysqlDialect extends DialectBase implements SourceDialect {
  readonly engine = 'mysql';
  /** Its COPY rows are encoded here, not rendered by PostgreSQL: validation compares the digest. */
  readonly copyDigests = false;
  readonly digest = mysqlDigest;

  get endSessionsGrant(): string {
    return `GRANT CONNECTION ADMIN ON *.* TO ${this.settings.source.user}`;
  }

  async open(): Promise<SourceSession> {
    return new MysqlSession(await openSession(this.endpoint), this);
  }

  private async with<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await openSession(this.endpoint);
    try {
      return await fn(c);
    } finally {
      c.end();
    }
  }

  prepare = (): Promise<Prepared> => this.with((c) => prepare(c, this.endpoint, this.settings, this.shadow));

  /** The target is PostgreSQL: never this server. */
  sameDatabase = async () => false;

  freeConnections = () =>
    this.with(async (c) => {
      const [max] = await rows(c, 'SELECT CAST(@@max_connections AS CHAR) AS n');
      const [connected] = await rows(c, "SHOW GLOBAL STATUS LIKE 'Threads_connected'");
      return Number(max!['n']) - Number(connected!['Value']);
    });

  extract = () =>
    this.with(async (c) => {
      const s = this.settings;
      // information_schema as text (the session reads values as bytes otherwise).
      await run(c, 'SET SESSION character_set_results = utf8mb4');
      const raw = await readRawCatalog(c.promise(), s.source.database);
      // ferry's own triggers (a plan of a running migration) are not the application's.
      const mine = new Set(
        ownTriggers(
          this.shadow,
          raw.others.map((o) => o.name.split(' on ')[0]!),
        ),
      );
      raw.others = raw.others.filter((o) => !(o.kind === 'trigger' && mine.has(o.name.split(' on ')[0]!)));
      const chosen = new Set(
        selectTables(
          raw.tables.map((t) => t.name),
          s.include,
          s.exclude,
        ),
      );
      const { catalog, refused } = buildCatalog(raw, {
        select: (t) => chosen.has(t),
        typeMap: s.typeMap,
        conversion: s.conversion,
      });
      if (s.mode === 'DowntimeOptimized') refused.push(...unrecordable(catalog, s.uptimeTables));
      return refused.length ? { ...catalog, refused } : catalog;
    });

  /** The tables' auto-increment counters read again: at cutover the application has moved them on. */
  refreshSequences = (catalog: Catalog) =>
    this.with(async (c) => {
      const next = new Map(
        (
          await rows(
            c,
            'SELECT TABLE_NAME AS t, CAST(AUTO_INCREMENT AS CHAR) AS ai FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
            [this.settings.source.database],
          )
        ).map((r) => [r['t']!, r['ai']]),
      );
      return {
        ...catalog,
        tables: catalog.tables.map((t) => ({
          ...t,
          identitySequences: t.identitySequences.map((s) => {
            const ai = BigInt(next.get(t.name) ?? '1');
            return { ...s, lastValue: ai > 1n ? (ai - 1n).toString() : null };
          }),
        })),
      };
    });

  /**
   * `readers` sessions in one consistent snapshot (read.ts), handed out and taken back as the
   * transfer's and the validation's workers come and go. The log entries it shows are forgotten
   * when it ends with commit.
   */
  async shareSnapshot(readers: number, catalog: Catalog): Promise<SharedSnapshot> {
    const snapshot = await openSnapshot(
      connectionOptions(this.endpoint),
      this.settings.source.database,
      catalog.tables.map((t) => t.name),
      readers,
    ).catch((err: unknown) => {
      if ((err as { errno?: number }).errno !== ER_LOCK_WAIT_TIMEOUT) throw err;
      throw new Error(
        'the consistent snapshot needs a moment in which no transaction of the application holds the migrated tables; ' +
          `one kept them for longer than lock_wait_timeout (${(err as Error).message}): end long-running transactions and run again`,
        { cause: err },
      );
    });
    const idle = [...snapshot.readers];
    let runs: Map<number, [string, string][]> | undefined;
    return {
      open: async () => {
        const c = idle.pop();
        if (!c) throw new SnapshotLost('every reader holding it lost its connection');
        return new MysqlSession(c, this, (back, broken) => {
          if (!broken) idle.push(back);
        });
      },
      forgetLog: async () => {
        const c = idle[0]!;
        const session = new MysqlSession(c, this, () => {});
        runs = await snapshotRuns(c, this.shadow, await session.logsFor());
      },
      // MySQL fires no trigger on TRUNCATE: the replay detects and refuses one instead.
      truncatedSince: async () => new Set<string>(),
      end: async (commit) => {
        try {
          if (commit && runs) await this.with((c) => forgetRuns(c, this.shadow, runs!));
        } finally {
          await snapshot.close();
        }
      },
    };
  }
}
