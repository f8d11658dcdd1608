// What Preparation asks of a SQL Server source: SQL Server 2016 (13.x) or newer, the migrated schemas
// present, SNAPSHOT isolation allowed in the database (the consistent read needs it), a shadow
// schema name that fits, and the migration user's permissions, with the GRANTs that supply what is
// missing. Permissions are asked of the server (HAS_PERMS_BY_NAME), which counts roles, schema
// ownership and db_owner/sysadmin; the decision which GRANTs to print is pure.
import type { Settings } from '../../api/settings.ts';
import { describeEndpoint, type Endpoint } from '../../db/connect.ts';
import { ConfigError } from '../../db/password.ts';
import type { Prepared } from '../dialect.ts';
import { versionNumber } from './catalog.ts';
import { mssqlIdent, type MssqlConnection } from './connect.ts';

/** SQL Server 2016: temporal_type, is_external and SNAPSHOT reads as ferry uses them. */
export const MIN_MSSQL = 130000;
/** sysname is 128 characters; ferry's log tables and triggers append to the shadow name. */
export const SHADOW_NAME_MAX = 100;

/** A permission the migration needs, on the database (`schema` null) or on one migrated schema. */
export interface MssqlNeed {
  schema: string | null;
  permission: string;
}

export function mssqlNeeds(schemas: readonly string[]): MssqlNeed[] {
  return [
    // Reading the rows; seeing the views, routines and triggers the inventory names (without VIEW
    // DEFINITION sys.* silently hides them); creating ferry's triggers on the tables (uptime
    // recording and the fence).
    ...schemas.flatMap((schema) =>
      ['SELECT', 'VIEW DEFINITION', 'ALTER'].map((permission) => ({ schema, permission })),
    ),
    // ferry's shadow schema and its log and fence tables.
    { schema: null, permission: 'CREATE SCHEMA' },
    { schema: null, permission: 'CREATE TABLE' },
    // The lock and transaction views (sys.dm_tran_locks, sys.dm_exec_sessions) at the fence.
    { schema: null, permission: 'VIEW DATABASE STATE' },
  ];
}

/** The GRANT statements supplying what `held` lacks of `needs`, one per securable. Pure. */
export function missingMssqlGrants(
  user: string,
  needs: readonly MssqlNeed[],
  held: (n: MssqlNeed) => boolean,
): string[] {
  const lacking = new Map<string | null, string[]>();
  for (const n of needs)
    if (!held(n)) lacking.set(n.schema, [...(lacking.get(n.schema) ?? []), n.permission]);
  return [...lacking].map(
    ([schema, permissions]) =>
      `GRANT ${permissions.join(', ')}${schema === null ? '' : ` ON SCHEMA::${mssqlIdent(schema)}`} TO ${mssqlIdent(user)};`,
  );
}

/** The optional grant that lets ferry end sessions caught writing at the fence (KILL), to the login. */
export const endSessionsGrant = (login: string): string =>
  `GRANT ALTER ANY CONNECTION TO ${mssqlIdent(login)}; -- in master, to the login`;

/** What Preparation checks before asking for grants: throws ConfigError naming what no GRANT fixes. Pure. */
export function checkSource(p: {
  where: string;
  version: string;
  database: string;
  snapshotIsolation: number;
  schemas: readonly string[];
  present: ReadonlySet<string>;
  shadow: string;
}): void {
  if (versionNumber(p.version) < MIN_MSSQL)
    throw new ConfigError(
      `${p.where}: SQL Server ${p.version} is not supported (SQL Server 2016, 13.x, or newer)`,
    );
  const own = p.schemas.filter((s) => /^ferry_/i.test(s));
  if (own.length)
    throw new ConfigError(
      `spec.schemas: ${own.join(', ')} is ferry's own (ferry_*), not a schema to migrate`,
    );
  const missing = p.schemas.filter((s) => !p.present.has(s));
  if (missing.length)
    throw new ConfigError(
      `${p.where}: schema ${missing.join(', ')} does not exist in database ${p.database}`,
    );
  // 1: ON; 0 OFF, 2 and 3 on the way to OFF or ON.
  if (p.snapshotIsolation !== 1)
    throw new ConfigError(
      `${p.where}: database ${p.database} does not allow SNAPSHOT isolation, which ferry's consistent read needs ` +
        `(ALTER DATABASE ${mssqlIdent(p.database)} SET ALLOW_SNAPSHOT_ISOLATION ON)`,
    );
  if (p.shadow.length > SHADOW_NAME_MAX)
    throw new ConfigError(
      `metadata.name: it is too long for a SQL Server source: ferry's schema ${p.shadow} must fit ${SHADOW_NAME_MAX} characters`,
    );
}

export async function prepare(
  c: Pick<MssqlConnection, 'rows'>,
  e: Endpoint,
  s: Settings,
  shadow: string,
): Promise<Prepared> {
  const schemas = s.schemas.map((p) => p.source);
  const [srv] = await c.rows(
    `SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS version,
            CONVERT(nvarchar(128), SERVERPROPERTY('Edition')) AS edition,
            DB_NAME() AS db, USER_NAME() AS usr,
            (SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()) AS snapshot`,
  );
  const params = [...schemas];
  const present = await c.rows(
    `SELECT name FROM sys.schemas WHERE name IN (${schemas.map((_, i) => `@p${i + 1}`).join(', ')})`,
    params,
  );
  const where = describeEndpoint(e);
  checkSource({
    where,
    version: String(srv!['version']),
    database: String(srv!['db']),
    snapshotIsolation: Number(srv!['snapshot']),
    schemas,
    present: new Set(present.map((r) => String(r['name']))),
    shadow,
  });
  const needs = mssqlNeeds(schemas);
  // One row per need, in order: the securable and permission travel as parameters.
  const held = await c.rows(
    needs
      .map(
        (n, i) =>
          `SELECT ${i} AS i, HAS_PERMS_BY_NAME(${n.schema === null ? 'NULL' : `@p${2 * i + 1}`}, ` +
          `${n.schema === null ? "N'DATABASE'" : "N'SCHEMA'"}, @p${2 * i + 2}) AS ok`,
      )
      .join(' UNION ALL '),
    needs.flatMap((n) => [n.schema, n.permission]),
  );
  const ok = new Set(held.filter((r) => Number(r['ok']) === 1).map((r) => Number(r['i'])));
  const user = String(srv!['usr']);
  return {
    server: `SQL Server ${String(srv!['version'])} (${String(srv!['edition'])})`,
    missing: { where, role: user, grants: missingMssqlGrants(user, needs, (n) => ok.has(needs.indexOf(n))) },
  };
}
