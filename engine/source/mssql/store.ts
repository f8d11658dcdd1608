// ferry's state on a SQL Server source: a schema `ferry_<migration>` (the shadow schema) in the
// source database, holding a key/value table of state (JSON text, stored as ferry wrote it) whose
// `marker` row names the owner (state/owner.ts), the fence's tables, and, DowntimeOptimized, the
// change logs and TRUNCATE guards (fence.ts, record.ts).
//
// Who owns it. A DML trigger runs with the writing user's permissions, except where the ownership
// chain is unbroken: when the trigger (owned by its table's schema owner) and the shadow tables it
// reads and writes have the same owner, SQL Server checks no permission on them. So the shadow
// schema is created WITH AUTHORIZATION the owner of the migrated schemas when they all have one and
// the migration user may act for it (it is that owner, or controls the database: db_owner); the
// application then needs no grant at all. Otherwise the schema is the migration user's and PUBLIC
// is granted exactly what the triggers do: SELECT on the fence, SELECT and INSERT on writes_seen,
// INSERT on the logs (never SELECT: the logs' keys stay unreadable to other users).
//
// SQL Server's DDL is transactional: the store is created in one transaction (with the lock retries
// of lock-retry.ts), so it exists whole or not at all. The `phase` state is still written last, as
// on the other sources, so that the rule "a store without a phase is incomplete" holds everywhere.
import type { Catalog } from '../../catalog/types.ts';
import { schemaOf, tableKey } from '../../catalog/schemas.ts';
import type { Logger } from '../../log.ts';
import { markerComment, parseMarker, SHADOW_MARKER, type Recorded } from '../../state/owner.ts';
import type { Identity } from '../../state/shadow.ts';
import type { StoreInfo } from '../dialect.ts';
import { mssqlIdent, mssqlLiteral, mssqlQualified, type MssqlConnection } from './connect.ts';
import { FENCE, fenceTablesDdl, ferryTriggersSql, ownTriggers, triggerDdl, WRITES_SEEN } from './fence.ts';
import { errorNumber, withLockRetries } from './lock-retry.ts';
import { guardDdl, logTable, logTableDdl } from './record.ts';

export const STATE = 'state';
export const MARKER = 'marker';

/** 208: invalid object name (the store or its state table is not there). */
const INVALID_OBJECT = 208;

/** Who owns the shadow schema: the migrated schemas' owner (ownership chaining), or ferry with grants to PUBLIC. */
export type Ownership = { authorization: string } | { grantPublic: true };

/**
 * The shadow schema's owner. `owners`: the owners of the migrated schemas; `me`: the migration
 * user's database user name; `controlsDatabase`: CONTROL on the database (db_owner), which lets it
 * create a schema for any owner and create tables in it. Pure.
 */
export function shadowOwnership(owners: readonly string[], me: string, controlsDatabase: boolean): Ownership {
  const [owner, ...rest] = owners;
  if (owner !== undefined && rest.every((o) => o === owner) && (owner === me || controlsDatabase))
    return { authorization: owner };
  return { grantPublic: true };
}

/** The schema and its state table (k compared by bytes, v as ferry wrote it). */
export function storeDdl(store: string, ownership: Ownership): string[] {
  return [
    `CREATE SCHEMA ${mssqlIdent(store)}${'authorization' in ownership ? ` AUTHORIZATION ${mssqlIdent(ownership.authorization)}` : ''}`,
    `CREATE TABLE ${mssqlQualified(store, STATE)} (k nvarchar(64) COLLATE Latin1_General_BIN2 NOT NULL PRIMARY KEY,
       v nvarchar(max) NOT NULL, updated_at datetime2(7) NOT NULL DEFAULT SYSUTCDATETIME())`,
  ];
}

/** Grants to PUBLIC where the ownership chain is broken: exactly what the triggers do. */
export function publicGrantsDdl(store: string, logged: readonly number[]): string[] {
  return [
    `GRANT SELECT ON ${mssqlQualified(store, FENCE)} TO public`,
    `GRANT SELECT, INSERT ON ${mssqlQualified(store, WRITES_SEEN)} TO public`,
    ...logged.map((i) => `GRANT INSERT ON ${mssqlQualified(store, logTable(i))} TO public`),
  ];
}

async function storeExists(c: MssqlConnection, store: string): Promise<boolean> {
  return (await c.rows('SELECT 1 AS x FROM sys.schemas WHERE name = @p1', [store])).length > 0;
}

/** The owner the store's marker names: undefined without a store, null when the schema is not ferry's. */
export async function storeOwner(c: MssqlConnection, store: string): Promise<Recorded | null | undefined> {
  if (!(await storeExists(c, store))) return undefined;
  try {
    const [r] = await c.rows(`SELECT v FROM ${mssqlQualified(store, STATE)} WHERE k = @p1`, [MARKER]);
    return parseMarker(SHADOW_MARKER, r?.['v'] as string | undefined) ?? null;
  } catch (e) {
    if (errorNumber(e) === INVALID_OBJECT) return null;
    throw e;
  }
}

/** Every ferry store in the database the user can see. */
export async function listStores(c: MssqlConnection): Promise<StoreInfo[]> {
  const schemas = await c.rows("SELECT name AS s FROM sys.schemas WHERE name LIKE 'ferry[_]%' ORDER BY name");
  const out: StoreInfo[] = [];
  for (const r of schemas) {
    const schema = r['s'] as string;
    const owner = await storeOwner(c, schema).catch(() => null);
    if (owner) out.push({ schema, owner });
  }
  return out;
}

export async function getState<T>(c: MssqlConnection, store: string, key: string): Promise<T | undefined> {
  try {
    const [r] = await c.rows(`SELECT v FROM ${mssqlQualified(store, STATE)} WHERE k = @p1`, [key]);
    return r?.['v'] == null ? undefined : (JSON.parse(r['v'] as string) as T);
  } catch (e) {
    // Read before the store exists (a status, a fallback of a run that never got that far).
    if (errorNumber(e) === INVALID_OBJECT) return undefined;
    throw e;
  }
}

export async function putState(
  c: MssqlConnection,
  store: string,
  key: string,
  value: unknown,
): Promise<void> {
  await putText(c, store, key, JSON.stringify(value));
}

async function putText(c: MssqlConnection, store: string, key: string, text: string): Promise<void> {
  const state = mssqlQualified(store, STATE);
  await c.run(
    `UPDATE ${state} WITH (UPDLOCK, HOLDLOCK) SET v = @p2, updated_at = SYSUTCDATETIME() WHERE k = @p1;
     IF @@ROWCOUNT = 0 INSERT INTO ${state} (k, v) VALUES (@p1, @p2);`,
    [key, text],
  );
}

export interface NewStore {
  store: string;
  /** The migration's name, for the fence's message. */
  migration: string;
  identity: Identity;
  state: Readonly<Record<string, unknown>>;
  catalog: Catalog;
  /** DowntimeOptimized: the recorded tables' keys; undefined in Standard mode. */
  recorded: readonly string[] | undefined;
}

/** The owners of the migrated schemas, the user's name and whether it controls the database. */
async function readOwnership(c: MssqlConnection, schemas: readonly string[]): Promise<Ownership> {
  const owners = await c.rows(
    `SELECT USER_NAME(principal_id) AS o FROM sys.schemas WHERE name IN (${schemas.map(mssqlLiteral).join(', ')})`,
  );
  const [me] = await c.rows(
    "SELECT USER_NAME() AS me, CAST(HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CONTROL') AS bit) AS ctl",
  );
  return shadowOwnership(
    owners.map((r) => r['o'] as string),
    me!['me'] as string,
    me!['ctl'] === true,
  );
}

/**
 * The whole store in one transaction: schema, state and marker, the fence (its tables, a trigger on
 * every table), and (DowntimeOptimized) a log per recorded table; a TRUNCATE guard on every keyed
 * table; the state, `phase` last.
 */
export async function createStore(c: MssqlConnection, log: Logger, o: NewStore): Promise<Ownership> {
  const { store, catalog } = o;
  const schemas = [...new Set(catalog.tables.map((t) => schemaOf(catalog, t)))];
  const ownership = await readOwnership(c, schemas.length ? schemas : [catalog.schema]);
  const recorded = new Set(o.recorded ?? []);
  const logged = catalog.tables.flatMap((t, i) => (recorded.has(tableKey(t)) ? [i] : []));
  await withLockRetries(c, log, 'installing the write fence and the change recorders', async () => {
    for (const sql of storeDdl(store, ownership)) await c.run(sql);
    await putText(c, store, MARKER, markerComment(SHADOW_MARKER, o.identity));
    await putState(c, store, 'identity', o.identity);
    for (const sql of fenceTablesDdl(store)) await c.run(sql);
    for (const i of logged) await c.run(logTableDdl(store, catalog.tables[i]!, i));
    if ('grantPublic' in ownership) for (const sql of publicGrantsDdl(store, logged)) await c.run(sql);
    for (const [i, t] of catalog.tables.entries()) {
      const schema = schemaOf(catalog, t);
      if (t.key.length) await c.run(guardDdl(store, schema, t, i));
      await c.run(triggerDdl(store, o.migration, schema, t, i, recorded.has(tableKey(t))));
    }
    if (o.recorded) await putState(c, store, 'recorded', o.recorded);
    const { phase, ...rest } = o.state;
    for (const [key, value] of Object.entries(rest)) await putState(c, store, key, value);
    if (phase !== undefined) await putState(c, store, 'phase', phase);
  });
  log.info(
    { owner: 'authorization' in ownership ? ownership.authorization : 'ferry, with grants to PUBLIC' },
    'write fence installed' + (o.recorded ? `, recording changes of ${logged.length} tables` : ''),
  );
  return ownership;
}

/**
 * ferry's triggers first (they read the store: without it they would fail the application's
 * writes), then every table in the store (SQL Server drops no schema with objects in it: the guards'
 * foreign keys go with their tables), then the schema; one transaction.
 */
export async function dropStore(c: MssqlConnection, log: Logger, store: string): Promise<void> {
  await withLockRetries(c, log, 'removing the write fence and the change recorders', async () => {
    const triggers = await c.rows(ferryTriggersSql(store));
    const mine = new Set(
      ownTriggers(
        store,
        triggers.map((r) => r['n'] as string),
      ),
    );
    for (const r of triggers.filter((x) => mine.has(x['n'] as string)))
      await c.run(`DROP TRIGGER ${mssqlQualified(r['s'] as string, r['n'] as string)}`);
    const tables = await c.rows(
      "SELECT name AS n FROM sys.tables WHERE schema_id = SCHEMA_ID(@p1) ORDER BY CASE WHEN name LIKE 'guard[_]%' THEN 0 ELSE 1 END, name",
      [store],
    );
    for (const r of tables) await c.run(`DROP TABLE ${mssqlQualified(store, r['n'] as string)}`);
    await c.run(`DROP SCHEMA IF EXISTS ${mssqlIdent(store)}`);
  });
}
