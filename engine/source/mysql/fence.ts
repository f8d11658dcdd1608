// The write fence on a MySQL/MariaDB source. Every migrated table carries BEFORE INSERT, UPDATE and
// DELETE row triggers that read the fence's state from one row in ferry's database and refuse the
// statement (or note the table, `detect`). That row lives in a non-transactional table (Aria, or
// MyISAM on MySQL): an InnoDB row would be read in the writer's own snapshot, so a transaction that
// began before the fence went up would still see it open. Triggers run with their definer's (ferry's)
// rights: the application needs no grant on ferry's database. What the triggers cannot see is
// detected instead: a dropped trigger, and TRUNCATE (which fires no trigger in MySQL) through the
// InnoDB table id, which TRUNCATE (like any rebuild) changes.
import type { Connection } from 'mysql2';
import type { Catalog, Table } from '../../catalog/types.ts';
import { tableKey } from '../../catalog/schemas.ts';
import type { FenceState, WriteHolder } from '../dialect.ts';
import { mysqlLiteral, rows, run } from './connect.ts';
import { mysqlQualified, NAME_MAX } from './store.ts';

export const FENCE = 'fence';
export const WRITES_SEEN = 'writes_seen';

const ER_UNKNOWN_TABLE = 1109;
const ER_NO_SUCH_TABLE = 1146;

/** MySQL's SIGNAL message limit. */
const MESSAGE_MAX = 128;
/** ER_OPTION_PREVENTS_STATEMENT: what an application sees from a read-only server too. */
const READ_ONLY_ERRNO = 1290;

export type Timing = 'b' | 'a';
export type Event = 'i' | 'u' | 'd';
export const EVENTS: readonly [Event, string][] = [
  ['i', 'INSERT'],
  ['u', 'UPDATE'],
  ['d', 'DELETE'],
];

/** ferry's triggers on the migrated tables: `<store>_<b|a><i|u|d><n>`, n the table's catalog position. */
export const triggerName = (store: string, timing: Timing, event: Event, index: number) =>
  `${store}_${timing}${event}${index}`;

/** The longest store name whose trigger names still fit MySQL's 64 characters. */
export const storeNameMax = (tables: number) => NAME_MAX - 3 - String(Math.max(tables - 1, 0)).length;

/** ferry's triggers of this store among trigger names (another store's `ferry_a_b_...` is not `ferry_a`'s). */
export const ownTriggers = (store: string, names: readonly string[]) => {
  const mine = new RegExp(`^${store.replace(/[^A-Za-z0-9]/g, '\\$&')}_[ba][iud][0-9]+$`);
  return names.filter((n) => mine.test(n));
};

/** The fence's state row (open) and the table of tables written to while detecting. */
export function fenceTablesDdl(store: string, mariadb: boolean): string[] {
  return [
    `CREATE TABLE ${mysqlQualified(store, FENCE)} (id tinyint NOT NULL PRIMARY KEY, state varchar(8) NOT NULL) ENGINE=${mariadb ? 'Aria' : 'MyISAM'}`,
    `INSERT INTO ${mysqlQualified(store, FENCE)} (id, state) VALUES (1, 'open')`,
    `CREATE TABLE ${mysqlQualified(store, WRITES_SEEN)} (tbl varchar(200) NOT NULL PRIMARY KEY,
       at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`,
  ];
}

/** The three fence triggers of one table. */
export function fenceTriggersDdl(
  store: string,
  migration: string,
  database: string,
  t: Table,
  index: number,
): string[] {
  const message = `ferry: ${t.name} is fenced for the downtime of migration ${migration}; writes are refused until it completes or falls back`;
  const cut = [...message].slice(0, MESSAGE_MAX).join('');
  return EVENTS.map(
    ([e, event]) =>
      `CREATE TRIGGER ${mysqlQualified(database, triggerName(store, 'b', e, index))} BEFORE ${event} ON ${mysqlQualified(database, t.name)} FOR EACH ROW
       BEGIN
         DECLARE s varchar(8) DEFAULT (SELECT state FROM ${mysqlQualified(store, FENCE)} WHERE id = 1);
         IF s = 'refuse' THEN
           SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = ${READ_ONLY_ERRNO}, MESSAGE_TEXT = ${mysqlLiteral(cut)};
         ELSEIF s = 'detect' THEN
           INSERT IGNORE INTO ${mysqlQualified(store, WRITES_SEEN)} (tbl) VALUES (${mysqlLiteral(tableKey(t))});
         END IF;
       END`,
  );
}

export async function setFence(c: Connection, store: string, state: FenceState): Promise<void> {
  await run(c, `UPDATE ${mysqlQualified(store, FENCE)} SET state = ? WHERE id = 1`, [state]);
}

/** The fence's state; open when it is not there (no store, or one whose creation was cut short). */
export async function fenceState(c: Connection, store: string): Promise<FenceState> {
  try {
    const [r] = await rows(c, `SELECT state FROM ${mysqlQualified(store, FENCE)} WHERE id = 1`);
    return (r?.['state'] as FenceState | undefined) ?? 'open';
  } catch (e) {
    if ((e as { errno?: number }).errno === ER_NO_SUCH_TABLE) return 'open';
    throw e;
  }
}

export async function writesSeen(c: Connection, store: string): Promise<string[]> {
  return (await rows(c, `SELECT tbl FROM ${mysqlQualified(store, WRITES_SEEN)} ORDER BY tbl`)).map(
    (r) => r['tbl']!,
  );
}

/**
 * InnoDB's table ids of the tables, by name (MariaDB's information_schema.INNODB_SYS_TABLES, MySQL's
 * INNODB_TABLES; PROCESS privilege). InnoDB names tables `database/table` in its filename encoding:
 * letters, digits and `_` as they are, every other character as `@` and four hex digits.
 */
export async function tableIds(
  c: Connection,
  database: string,
  tables: readonly Table[],
): Promise<Map<string, string>> {
  if (!tables.length) return new Map();
  const encode = (s: string) =>
    [...s]
      .map((ch) => (/[A-Za-z0-9_]/.test(ch) ? ch : `@${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`))
      .join('');
  const names = new Map(tables.map((t) => [`${encode(database)}/${encode(t.name)}`, tableKey(t)]));
  const from = (view: string) =>
    rows(
      c,
      `SELECT NAME AS n, CAST(TABLE_ID AS CHAR) AS id FROM information_schema.${view} WHERE NAME IN (${[
        ...names.keys(),
      ]
        .map(() => '?')
        .join(', ')})`,
      [...names.keys()],
    );
  const found = await from('INNODB_SYS_TABLES').catch((e: unknown) => {
    if ((e as { errno?: number }).errno !== ER_UNKNOWN_TABLE) throw e;
    return from('INNODB_TABLES');
  });
  return new Map(found.map((r) => [names.get(r['n']!)!, r['id']!]));
}

/** Trigger names present on the migrated database. */
export async function triggersPresent(c: Connection, database: string): Promise<Set<string>> {
  return new Set(
    (
      await rows(c, 'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [
        database,
      ])
    ).map((r) => r['n']!),
  );
}

const ER_LOCK_WAIT_TIMEOUT = 1205;

/**
 * Sessions of others with uncommitted writes on the tables. A transaction that wrote to a table
 * holds a shared-write metadata lock on it until it ends, so LOCK TABLES ... READ gets through only
 * when there is none. Who holds them: MariaDB's METADATA_LOCK_INFO where the plugin is installed
 * (exactly, per table); otherwise the transactions that modified rows (INNODB_TRX, PROCESS privilege),
 * which may include writers of other tables.
 */
export async function writeHolders(
  c: Connection,
  database: string,
  catalog: Catalog,
): Promise<WriteHolder[]> {
  if (!catalog.tables.length) return [];
  await run(c, 'SET SESSION lock_wait_timeout = 1');
  try {
    await run(
      c,
      `LOCK TABLES ${catalog.tables.map((t) => `${mysqlQualified(database, t.name)} READ`).join(', ')}`,
    );
    await run(c, 'UNLOCK TABLES');
    return [];
  } catch (e) {
    if ((e as { errno?: number }).errno !== ER_LOCK_WAIT_TIMEOUT) throw e;
  } finally {
    await run(c, 'SET SESSION lock_wait_timeout = DEFAULT').catch(() => {});
  }
  const names = new Set(catalog.tables.map((t) => t.name));
  try {
    const held = await rows(
      c,
      `SELECT CAST(THREAD_ID AS CHAR) AS id, TABLE_NAME AS t FROM information_schema.METADATA_LOCK_INFO
        WHERE TABLE_SCHEMA = ? AND LOCK_MODE IN ('MDL_SHARED_WRITE', 'MDL_SHARED_UPGRADABLE', 'MDL_SHARED_NO_READ_WRITE', 'MDL_EXCLUSIVE')
          AND THREAD_ID <> CONNECTION_ID() ORDER BY THREAD_ID, TABLE_NAME`,
      [database],
    );
    const by = new Map<string, string[]>();
    for (const r of held.filter((x) => names.has(x['t']!)))
      by.set(r['id']!, [...(by.get(r['id']!) ?? []), r['t']!]);
    return [...by].map(([id, tables]) => ({ id, name: `session ${id}`, tables }));
  } catch (e) {
    if ((e as { errno?: number }).errno !== ER_UNKNOWN_TABLE) throw e;
  }
  const trx = await rows(
    c,
    `SELECT CAST(trx_mysql_thread_id AS CHAR) AS id, CAST(trx_rows_modified AS CHAR) AS n FROM information_schema.INNODB_TRX
      WHERE trx_mysql_thread_id <> CONNECTION_ID() AND trx_rows_modified > 0 ORDER BY trx_mysql_thread_id`,
  );
  // Without PROCESS only ferry's own transactions show: the holder is named as unknown.
  if (!trx.length) return [{ id: '', name: 'a session ferry cannot see (GRANT PROCESS)', tables: [] }];
  return trx.map((r) => ({
    id: r['id']!,
    name: `session ${r['id']} (a transaction that modified ${r['n']} rows)`,
    tables: [],
  }));
}

const ER_KILL_DENIED = 1095;
const ER_NO_SUCH_THREAD = 1094;

/** Ends a session where the user may (CONNECTION ADMIN, or its own); false where it may not. */
export async function endSession(c: Connection, id: string): Promise<boolean> {
  if (!/^[0-9]+$/.test(id)) return false;
  try {
    await run(c, `KILL CONNECTION ${id}`);
    return true;
  } catch (e) {
    const n = (e as { errno?: number }).errno;
    if (n === ER_KILL_DENIED || n === ER_NO_SUCH_THREAD) return false;
    throw e;
  }
}
