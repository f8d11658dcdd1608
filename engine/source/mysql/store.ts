// ferry's state on a MySQL/MariaDB source: a database `ferry_<migration>` on the source server (a
// MySQL database is what PostgreSQL calls a schema) holding a key/value table of state, whose
// `marker` row names the owner (state/owner.ts). MySQL's DDL is not transactional: the store is
// created step by step, the marker first (so that fallback finds and removes a half-made one) and
// the `phase` state last (a store without it is incomplete: PreProcessing makes it again).
import type { Connection } from 'mysql2';
import { retryLockConflicts } from '../../db/lock-retry.ts';
import type { Logger } from '../../log.ts';
import { markerComment, parseMarker, SHADOW_MARKER, type Recorded } from '../../state/owner.ts';
import type { Identity } from '../../state/shadow.ts';
import type { StoreInfo } from '../dialect.ts';
import { rows, run } from './connect.ts';
import { mysqlIdent } from './read.ts';

export const STATE = 'state';
const MARKER = 'marker';

export const mysqlQualified = (db: string, name: string) => `${mysqlIdent(db)}.${mysqlIdent(name)}`;

/** MySQL's limit on database and trigger names. */
export const NAME_MAX = 64;

const ER_NO_SUCH_TABLE = 1146;
const ER_BAD_DB = 1049;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;

const errno = (e: unknown) => (e as { errno?: number }).errno;

export async function storeExists(c: Connection, store: string): Promise<boolean> {
  return (
    (await rows(c, 'SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [store]))
      .length > 0
  );
}

/** The owner the store's marker names: undefined without a store, null when the database is not ferry's. */
export async function storeOwner(c: Connection, store: string): Promise<Recorded | null | undefined> {
  if (!(await storeExists(c, store))) return undefined;
  try {
    const [r] = await rows(c, `SELECT v FROM ${mysqlQualified(store, STATE)} WHERE k = ?`, [MARKER]);
    return parseMarker(SHADOW_MARKER, r?.['v']) ?? null;
  } catch (e) {
    if (errno(e) === ER_NO_SUCH_TABLE) return null;
    throw e;
  }
}

/** Every ferry store on the server the user can see (its grant on `ferry\_%` shows them all). */
export async function listStores(c: Connection): Promise<StoreInfo[]> {
  const dbs = await rows(
    c,
    "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'ferry\\_%' ORDER BY 1",
  );
  const out: StoreInfo[] = [];
  for (const { s } of dbs) {
    const owner = await storeOwner(c, s!).catch(() => null);
    if (owner) out.push({ schema: s!, owner });
  }
  return out;
}

export async function getState<T>(c: Connection, store: string, key: string): Promise<T | undefined> {
  try {
    const [r] = await rows(c, `SELECT v FROM ${mysqlQualified(store, STATE)} WHERE k = ?`, [key]);
    return r?.['v'] == null ? undefined : (JSON.parse(r['v']) as T);
  } catch (e) {
    // Read before the store exists (a status, a fallback of a run that never got that far).
    if (errno(e) === ER_NO_SUCH_TABLE || errno(e) === ER_BAD_DB) return undefined;
    throw e;
  }
}

export async function putState(c: Connection, store: string, key: string, value: unknown): Promise<void> {
  await run(
    c,
    `INSERT INTO ${mysqlQualified(store, STATE)} (k, v) VALUES (?, ?)
     ON DUPLICATE KEY UPDATE v = VALUES(v), updated_at = CURRENT_TIMESTAMP(6)`,
    [key, JSON.stringify(value)],
  );
}

/** The database, its state table and marker, and the identity. */
export async function createStore(c: Connection, store: string, identity: Identity): Promise<void> {
  await run(c, `CREATE DATABASE ${mysqlIdent(store)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await run(
    c,
    `CREATE TABLE ${mysqlQualified(store, STATE)} (k varchar(64) NOT NULL PRIMARY KEY, v longtext NOT NULL,
       updated_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`,
  );
  await run(c, `INSERT INTO ${mysqlQualified(store, STATE)} (k, v) VALUES (?, ?)`, [
    MARKER,
    markerComment(SHADOW_MARKER, identity),
  ]);
  await putState(c, store, 'identity', identity);
}

/**
 * DDL on the application's tables (creating or dropping triggers) waits for the transactions using
 * them; waiting long would stall every writer queued behind ferry, so it waits briefly and retries.
 */
export async function withLockRetries<T>(
  c: Connection,
  log: Logger,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  await run(c, 'SET SESSION lock_wait_timeout = 2');
  try {
    return await retryLockConflicts(
      log,
      what,
      (err) => errno(err) === ER_LOCK_WAIT_TIMEOUT || errno(err) === ER_LOCK_DEADLOCK,
      fn,
    );
  } finally {
    await run(c, 'SET SESSION lock_wait_timeout = DEFAULT').catch(() => {});
  }
}
