// The write fence on a SQL Server source. Every migrated table carries one ferry trigger, AFTER
// INSERT, UPDATE, DELETE (so MERGE too), which first reads the fence's state from one row of a
// shadow table and THROWs (`refuse`: the statement and its transaction fail) or notes the table
// (`detect`); on a recorded table it then logs the changed keys (record.ts). While the fence is
// open that costs one clustered-index seek per statement. The state is read WITH (READCOMMITTEDLOCK):
// an application transaction under SNAPSHOT isolation would otherwise read it as of its own start
// and miss a fence raised since. The state is an ordinary table row, so fence changes are
// transactional: they commit with the state record that describes them.
//
// TRUNCATE fires no trigger: the guards (record.ts) make SQL Server refuse it. What could still get
// past: a trigger disabled or dropped, a guard dropped; bypassed() names each.
import type { Catalog, Table } from '../../catalog/types.ts';
import { schemaOf, tableKey } from '../../catalog/schemas.ts';
import type { FenceState, WriteHolder } from '../dialect.ts';
import { mssqlIdent, mssqlLiteral, mssqlQualified, type MssqlConnection } from './connect.ts';
import { errorNumber } from './lock-retry.ts';
import { guardKey, guardTable, recordSql } from './record.ts';

export const FENCE = 'fence';
export const WRITES_SEEN = 'writes_seen';

/** SQL Server's limit on names (sysname). */
export const NAME_MAX = 128;

/** THROW's error number: the first user-defined one. */
const FENCE_ERROR = 50000;
/** 208: invalid object name (no store, or one whose creation was rolled back). */
const INVALID_OBJECT = 208;

/** ferry's trigger on the table at catalog position `index`: `<store>_w<index>`, in the table's schema. */
export const triggerName = (store: string, index: number) => `${store}_w${index}`;

/** The longest store name whose trigger names still fit SQL Server's 128 characters. */
export const storeNameMax = (tables: number) => NAME_MAX - 2 - String(Math.max(tables - 1, 0)).length;

/** ferry's triggers of this store among trigger names (another store's `ferry_a_b_w0` is not `ferry_a`'s). */
export const ownTriggers = (store: string, names: readonly string[]) => {
  const mine = new RegExp(`^${store.replace(/[^A-Za-z0-9]/g, '\\$&')}_w[0-9]+$`);
  return names.filter((n) => mine.test(n));
};

/** The fence's state row (open) and the tables written to while detecting. */
export function fenceTablesDdl(store: string): string[] {
  return [
    `CREATE TABLE ${mssqlQualified(store, FENCE)} (id tinyint NOT NULL PRIMARY KEY, state varchar(8) NOT NULL)`,
    `INSERT INTO ${mssqlQualified(store, FENCE)} (id, state) VALUES (1, 'open')`,
    // No unique key: two writers noting a table at once must not fail each other; writesSeen() is DISTINCT.
    `CREATE TABLE ${mssqlQualified(store, WRITES_SEEN)} (tbl nvarchar(300) NOT NULL,
       at datetime2(7) NOT NULL DEFAULT SYSUTCDATETIME(), INDEX ${mssqlIdent(`${WRITES_SEEN}_tbl`)} (tbl))`,
  ];
}

/** What an application's refused write reports. THROW's message is not a format: `%` is harmless. */
export const fenceMessage = (migration: string, t: Table) =>
  `ferry: ${tableKey(t)} is fenced for the cutover of migration ${migration}; writes are refused until it completes or falls back`;

/**
 * ferry's trigger on a table: the fence first, then (recorded tables) the changed keys. No result
 * sets (NOCOUNT), no error but the fence's: the application's statement sees what it saw before.
 */
export function triggerDdl(
  store: string,
  migration: string,
  schema: string,
  t: Table,
  index: number,
  recorded: boolean,
): string {
  const seen = mssqlQualified(store, WRITES_SEEN);
  const key = mssqlLiteral(tableKey(t));
  return `CREATE TRIGGER ${mssqlQualified(schema, triggerName(store, index))} ON ${mssqlQualified(schema, t.name)}
  AFTER INSERT, UPDATE, DELETE AS
BEGIN
  SET NOCOUNT ON;
  DECLARE @fence varchar(8) = (SELECT state FROM ${mssqlQualified(store, FENCE)} WITH (READCOMMITTEDLOCK) WHERE id = 1);
  IF @fence = 'refuse' THROW ${FENCE_ERROR}, ${mssqlLiteral(fenceMessage(migration, t))}, 1;
  IF @fence = 'detect' AND NOT EXISTS (SELECT 1 FROM ${seen} WITH (READCOMMITTEDLOCK) WHERE tbl = ${key})
    INSERT INTO ${seen} (tbl) VALUES (${key});${recorded ? `\n  ${recordSql(store, t, index)}` : ''}
END`;
}

export async function setFence(c: MssqlConnection, store: string, state: FenceState): Promise<void> {
  await c.run(`UPDATE ${mssqlQualified(store, FENCE)} SET state = @p1 WHERE id = 1`, [state]);
}

/** The fence's state; open when it is not there (no store). */
export async function fenceState(c: MssqlConnection, store: string): Promise<FenceState> {
  try {
    const [r] = await c.rows(`SELECT state FROM ${mssqlQualified(store, FENCE)} WHERE id = 1`);
    return (r?.['state'] as FenceState | undefined) ?? 'open';
  } catch (e) {
    if (errorNumber(e) === INVALID_OBJECT) return 'open';
    throw e;
  }
}

export async function writesSeen(c: MssqlConnection, store: string): Promise<string[]> {
  return (await c.rows(`SELECT DISTINCT tbl FROM ${mssqlQualified(store, WRITES_SEEN)} ORDER BY tbl`)).map(
    (r) => r['tbl'] as string,
  );
}

/** `(VALUES (key, object id), ...)`: the catalog's tables as SQL Server's object ids. */
export function tableIdsSql(catalog: Catalog, tables: readonly Table[] = catalog.tables): string {
  const rows = tables.map(
    (t) =>
      `(${mssqlLiteral(tableKey(t))}, OBJECT_ID(${mssqlLiteral(mssqlQualified(schemaOf(catalog, t), t.name))}))`,
  );
  return `(VALUES ${rows.join(', ')})`;
}

/** ferry's triggers of the store on the database's tables: `schema.table` → name → enabled. */
export function ferryTriggersSql(store: string): string {
  return `SELECT OBJECT_SCHEMA_NAME(tr.parent_id) AS s, OBJECT_NAME(tr.parent_id) AS t, tr.name AS n,
       CAST(tr.is_disabled AS bit) AS off
     FROM sys.triggers AS tr
    WHERE tr.parent_class = 1 AND LEFT(tr.name, ${store.length + 1}) = ${mssqlLiteral(`${store}_`)}`;
}

/** The guards' foreign keys in the store: name → the `schema.table` they reference. */
export function guardsSql(store: string): string {
  return `SELECT fk.name AS n, OBJECT_SCHEMA_NAME(fk.referenced_object_id) AS s, OBJECT_NAME(fk.referenced_object_id) AS t
     FROM sys.foreign_keys AS fk WHERE fk.schema_id = SCHEMA_ID(${mssqlLiteral(store)})`;
}

export interface Installed {
  /** `<schema>\u0000<table>\u0000<trigger>` of every enabled ferry trigger. */
  triggers: Set<string>;
  /** `<schema>\u0000<table>\u0000<foreign key>` of every guard. */
  guards: Set<string>;
}

const at = (schema: string, table: string, name: string) => `${schema}\u0000${table}\u0000${name}`;

export async function installed(c: MssqlConnection, store: string): Promise<Installed> {
  const triggers = await c.rows(ferryTriggersSql(store));
  const guards = await c.rows(guardsSql(store));
  const own = new Set(
    ownTriggers(
      store,
      triggers.map((r) => r['n'] as string),
    ),
  );
  return {
    triggers: new Set(
      triggers
        .filter((r) => own.has(r['n'] as string) && !r['off'])
        .map((r) => at(r['s'] as string, r['t'] as string, r['n'] as string)),
    ),
    guards: new Set(guards.map((r) => at(r['s'] as string, r['t'] as string, r['n'] as string))),
  };
}

/**
 * What keeps the fence and the recording from being exact, each a phrase naming the table: ferry's
 * trigger missing or disabled on a table (a disabled trigger neither fences nor records), a
 * TRUNCATE guard missing on a table with a key. Pure.
 */
export function bypassedBy(store: string, catalog: Catalog, found: Installed): string[] {
  return catalog.tables.flatMap((t, i) => {
    const schema = schemaOf(catalog, t);
    const out: string[] = [];
    if (!found.triggers.has(at(schema, t.name, triggerName(store, i))))
      out.push(`${triggerName(store, i)} on ${tableKey(t)} missing or disabled`);
    if (t.key.length && !found.guards.has(at(schema, t.name, guardKey(i))))
      out.push(
        `${store}.${guardTable(i)} missing: ${tableKey(t)} can be emptied by TRUNCATE, which fires no trigger`,
      );
    return out;
  });
}

export async function bypassed(c: MssqlConnection, store: string, catalog: Catalog): Promise<string[]> {
  return bypassedBy(store, catalog, await installed(c, store));
}

/**
 * Sessions (user processes, not ours) whose open transaction holds a write lock (IX, SIX, UIX, X)
 * on one of the tables: an application transaction that wrote before the fence went up. Reading
 * sys.dm_tran_locks needs VIEW SERVER STATE (SQL Server 2022: VIEW SERVER PERFORMANCE STATE; Azure
 * SQL Database: VIEW DATABASE STATE).
 */
export function writeHoldersSql(catalog: Catalog): string {
  return `SELECT CAST(l.request_session_id AS varchar(11)) AS id, v.k AS tbl
     FROM ${tableIdsSql(catalog)} AS v(k, id)
     JOIN sys.dm_tran_locks AS l
       ON l.resource_type = 'OBJECT' AND l.resource_database_id = DB_ID()
      AND l.resource_associated_entity_id = v.id
     JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id AND s.is_user_process = 1
    WHERE l.request_mode IN ('IX', 'SIX', 'UIX', 'X') AND l.request_status = 'GRANT'
      AND l.request_session_id <> @@SPID
      AND EXISTS (SELECT 1 FROM sys.dm_tran_session_transactions AS st WHERE st.session_id = l.request_session_id)
    ORDER BY l.request_session_id, v.k`;
}

/** 297: no permission; 300: VIEW SERVER STATE (or its 2022 successor) denied. */
const NO_STATE_PERMISSION = new Set([297, 300]);

export async function writeHolders(
  c: MssqlConnection,
  catalog: Catalog,
  user: string,
): Promise<WriteHolder[]> {
  if (!catalog.tables.length) return [];
  let held;
  try {
    held = await c.rows(writeHoldersSql(catalog));
  } catch (e) {
    if (!NO_STATE_PERMISSION.has(errorNumber(e) ?? 0)) throw e;
    throw new Error(
      `ferry cannot see which sessions hold uncommitted writes on the migrated tables (sys.dm_tran_locks): ` +
        `GRANT VIEW SERVER STATE TO ${mssqlIdent(user)} (SQL Server 2022: VIEW SERVER PERFORMANCE STATE; ` +
        `Azure SQL Database: VIEW DATABASE STATE)`,
      { cause: e },
    );
  }
  const by = new Map<string, string[]>();
  for (const r of held) {
    const id = r['id'] as string;
    by.set(id, [...(by.get(id) ?? []), r['tbl'] as string]);
  }
  return [...by].map(([id, tables]) => ({ id, name: `session ${id}`, tables }));
}

/** `KILL <id>` for a session id (a positive integer); undefined for anything else. Pure. */
export function killSql(id: string): string | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(id) || Number(id) > 2 ** 31 - 1) return undefined;
  return `KILL ${id}`;
}

/** 6102: no permission (ALTER ANY CONNECTION); 6104: one's own session; 6106: no such session. */
const KILL_REFUSED = new Set([6102, 6104, 6106]);

/** Ends a session where the user may (ALTER ANY CONNECTION); false where it may not. */
export async function endSession(c: MssqlConnection, id: string): Promise<boolean> {
  const sql = killSql(id);
  if (!sql) return false;
  try {
    await c.run(sql);
    return true;
  } catch (e) {
    if (KILL_REFUSED.has(errorNumber(e) ?? 0)) return false;
    throw e;
  }
}
