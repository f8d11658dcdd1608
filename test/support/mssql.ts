// A real SQL Server source for the SQL Server end-to-end suite, named by FERRY_MSSQL_URL (none runs
// on ferry's CI machines: the suite is skipped there, saying so), and a throwaway PostgreSQL target.
//
// FERRY_MSSQL_URL: mssql://USER:PASSWORD@HOST[:PORT][/DATABASE][?sslmode=disable|require]
// USER and PASSWORD percent-encoded; PORT 1433, DATABASE master and sslmode require (TLS without
// checking the certificate, as a fresh SQL Server's is self-signed) when omitted. USER must be able to
// create databases and logins (sa, or sysadmin). hack/mssql-up.sh prints one.
//
// Set up as in production: a database of its own with ALLOW_SNAPSHOT_ISOLATION ON, an application
// login owning the schemas of its tables and writing them, and a migration login that is neither
// sysadmin nor db_owner, holding exactly the GRANTs ferry's Preparation asks for (askGrants: what a
// run without them prints). Passwords are random per run, handed to ferry in environment variables.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { startPostgres, type PostgresServer } from '../../hack/postgres/server.ts';
import type { SslMode } from '../../engine/api/migration.ts';
import type { Endpoint } from '../../engine/db/connect.ts';
import { MssqlConnection, mssqlIdent, type Param } from '../../engine/source/mssql/connect.ts';
import { ferry, type CliResult } from './cli.ts';

export const MSSQL_URL_VARIABLE = 'FERRY_MSSQL_URL';

export interface MssqlUrl {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sslMode: SslMode;
}

/** Reads FERRY_MSSQL_URL's format (above); throws naming what is wrong, never the password. */
export function parseMssqlUrl(text: string): MssqlUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`${MSSQL_URL_VARIABLE} is not a URL (mssql://USER:PASSWORD@HOST:PORT/DATABASE)`);
  }
  if (u.protocol !== 'mssql:') throw new Error(`${MSSQL_URL_VARIABLE} must start with mssql://`);
  if (!u.username || !u.password) throw new Error(`${MSSQL_URL_VARIABLE} must name a user and a password`);
  const sslMode = u.searchParams.get('sslmode') ?? 'require';
  if (sslMode !== 'disable' && sslMode !== 'require')
    throw new Error(`${MSSQL_URL_VARIABLE}: sslmode is disable or require, not ${sslMode}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'master';
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 1433,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
    sslMode,
  };
}

/** Why the suite cannot run here, or undefined when FERRY_MSSQL_URL names a server. */
export function mssqlSkipReason(): string | undefined {
  if (process.env[MSSQL_URL_VARIABLE]) return undefined;
  return (
    `${MSSQL_URL_VARIABLE} is not set: no SQL Server to run against, so the SQL Server end-to-end suite is skipped ` +
    '(start one with `eval "$(hack/mssql-up.sh)"`; see README "Testing against SQL Server")'
  );
}

function endpointOf(u: MssqlUrl, database: string, user: string, password: string): Endpoint {
  return {
    role: 'source',
    conn: {
      engine: 'mssql',
      host: u.host,
      port: u.port,
      database,
      user,
      schema: 'dbo',
      sslMode: u.sslMode,
      sslRootCert: undefined,
      password: { env: 'UNUSED' },
    },
    password,
    rootCert: undefined,
    applicationName: 'ferry-test',
  };
}

export const APP_SCHEMAS = ['shop', 'every_type'] as const;

export interface MssqlMigration {
  url: MssqlUrl;
  /** The suite's database on the SQL Server. */
  database: string;
  pg: PostgresServer;
  appUser: string;
  migratorUser: string;
  /** ferry's environment: the passwords the manifests name. */
  env: Record<string, string>;
  /**
   * `ferry run` of both schemas as the migration user while it has no grant: Preparation refuses it,
   * printing the GRANTs it needs (the run and those statements).
   */
  askGrants(): Promise<{ run: CliResult; grants: string[] }>;
  /** Runs GRANT statements as the administrator (server-scope ones in master). */
  grant(grants: readonly string[]): Promise<void>;
  /** A manifest for `ferry`: source the suite's database as the migration user, schema `schema`; target PostgreSQL `shop`. */
  manifest(name: string, spec?: Record<string, unknown>, schema?: string): string;
  /** A session of the application login in the suite's database. */
  app(): Promise<MssqlConnection>;
  /** A session of the URL's (administrating) login in the suite's database: test bookkeeping only. */
  admin(): Promise<MssqlConnection>;
  target(): Promise<pg.Client>;
  stop(): Promise<void>;
}

const secret = () => `Fy1!${randomBytes(12).toString('hex')}`;

/**
 * Creates the database, the logins and users, and the target. `schemas` are created owned by the
 * application user; `populate` runs as the application (it creates its tables) before ferry is asked
 * which GRANTs it needs for them.
 */
export async function startMssqlMigration(
  populate: (app: MssqlConnection) => Promise<void>,
): Promise<MssqlMigration> {
  const url = parseMssqlUrl(process.env[MSSQL_URL_VARIABLE]!);
  const suffix = randomBytes(4).toString('hex');
  const database = `ferry_e2e_${suffix}`;
  const appUser = `shop_app_${suffix}`;
  const migratorUser = `ferry_migrator_${suffix}`;
  const appPassword = secret();
  const migratorPassword = secret();
  const server = await MssqlConnection.open(endpointOf(url, url.database, url.user, url.password));
  const pgServer = await startPostgres({ version: 18 });
  try {
    await server.run(`CREATE DATABASE ${mssqlIdent(database)}`);
    await server.run(`ALTER DATABASE ${mssqlIdent(database)} SET ALLOW_SNAPSHOT_ISOLATION ON`);
    for (const [login, password] of [
      [appUser, appPassword],
      [migratorUser, migratorPassword],
    ] as const)
      await server.run(
        `CREATE LOGIN ${mssqlIdent(login)} WITH PASSWORD = N'${password}', CHECK_POLICY = OFF, DEFAULT_DATABASE = ${mssqlIdent(database)}`,
      );
  } finally {
    await server.close();
  }
  const admin = () => MssqlConnection.open(endpointOf(url, database, url.user, url.password));
  const a = await admin();
  try {
    await a.run(`CREATE USER ${mssqlIdent(appUser)} FOR LOGIN ${mssqlIdent(appUser)}`);
    await a.run(`CREATE USER ${mssqlIdent(migratorUser)} FOR LOGIN ${mssqlIdent(migratorUser)}`);
    await a.run(`GRANT CREATE TABLE TO ${mssqlIdent(appUser)}`);
    for (const s of APP_SCHEMAS)
      await a.run(`EXEC (N'CREATE SCHEMA ${mssqlIdent(s)} AUTHORIZATION ${mssqlIdent(appUser)}')`);
  } finally {
    await a.close();
  }
  const pgAdmin = new pg.Client({ connectionString: pgServer.url() });
  await pgAdmin.connect();
  await pgAdmin.query('CREATE DATABASE shop');
  await pgAdmin.end();

  const app = () => MssqlConnection.open(endpointOf(url, database, appUser, appPassword));
  const appSession = await app();
  try {
    await populate(appSession);
  } finally {
    await appSession.close();
  }

  const dir = mkdtempSync(join(tmpdir(), 'ferry-mssql-'));
  const env = { FERRY_TEST_MSSQL_PASSWORD: migratorPassword, FERRY_TEST_PG_PASSWORD: pgServer.password };
  const manifest: MssqlMigration['manifest'] = (name, spec = {}, schema = 'shop') => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      stringify({
        apiVersion: 'ferry.dev/v1alpha1',
        kind: 'Migration',
        metadata: { name },
        spec: {
          source: {
            engine: 'mssql',
            host: url.host,
            port: url.port,
            database,
            user: migratorUser,
            schema,
            sslMode: url.sslMode,
            password: { env: 'FERRY_TEST_MSSQL_PASSWORD' },
          },
          target: {
            engine: 'postgres',
            host: pgServer.host,
            port: pgServer.port,
            database: 'shop',
            user: pgServer.user,
            schema,
            password: { env: 'FERRY_TEST_PG_PASSWORD' },
          },
          ...spec,
        },
      }),
    );
    return file;
  };

  const m: MssqlMigration = {
    url,
    database,
    pg: pgServer,
    appUser,
    migratorUser,
    env,
    manifest,
    askGrants: async () => {
      const run = await ferry(
        ['run', '-f', manifest('grants', { schemas: APP_SCHEMAS.map((x) => ({ source: x, target: x })) })],
        env,
      );
      return { run, grants: grantsIn(run) };
    },
    grant: async (grants) => {
      const g = await admin();
      try {
        for (const grant of grants) await runGrant(g, database, grant);
      } finally {
        await g.close();
      }
    },
    app,
    admin,
    target: async () => {
      const c = new pg.Client({ connectionString: pgServer.url('shop') });
      await c.connect();
      await c.query("SET TimeZone = 'UTC'");
      await c.query("SET DateStyle = 'ISO'");
      await c.query("SET extra_float_digits = '1'");
      return c;
    },
    stop: async () => {
      const s = await MssqlConnection.open(endpointOf(url, url.database, url.user, url.password));
      try {
        await s.run(
          `IF DB_ID(N'${database}') IS NOT NULL ALTER DATABASE ${mssqlIdent(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE`,
        );
        await s.run(`DROP DATABASE IF EXISTS ${mssqlIdent(database)}`);
        for (const login of [appUser, migratorUser]) await s.run(`DROP LOGIN ${mssqlIdent(login)}`);
      } finally {
        await s.close();
        await pgServer.stop();
      }
    },
  };
  return m;
}

/** The GRANT statements a refused run printed (its log is JSON: the statements sit inside strings). */
export function grantsIn(run: CliResult): string[] {
  const text = `${run.stdout}\n${run.stderr}`.replaceAll('\\n', '\n');
  return [...new Set(text.match(/GRANT [^;"\n]+;/g) ?? [])];
}

/** A GRANT in the suite's database, or in master where its permission is a server one. */
async function runGrant(c: MssqlConnection, database: string, grant: string): Promise<void> {
  try {
    await c.run(grant);
  } catch (e) {
    // 4621: permissions at the server scope can only be granted when the current database is master.
    if ((e as { number?: number }).number !== 4621) throw e;
    await c.run(`USE master; ${grant} USE ${mssqlIdent(database)};`);
  }
}

/** Every row of a table as canonical text, by a query on each side (independent of ferry's digest). */
export interface Canonical {
  mssql: string;
  pg: string;
}

async function textRows(c: MssqlConnection, sql: string, params: readonly Param[] = []): Promise<string[]> {
  return (await c.rows(sql, params)).map((r) => String(r['r']));
}

/** Every row of each table on both sides, as the canonical queries render them, sorted. */
export async function bothSides(
  m: MssqlMigration,
  tables: Record<string, Canonical>,
): Promise<Record<string, { source: string[]; target: string[] }>> {
  const a = await m.admin();
  const t = await m.target();
  try {
    const out: Record<string, { source: string[]; target: string[] }> = {};
    for (const [name, q] of Object.entries(tables))
      out[name] = {
        source: (await textRows(a, q.mssql)).sort(),
        target: (await t.query<{ r: string }>(q.pg)).rows.map((r) => r.r).sort(),
      };
    return out;
  } finally {
    await a.close();
    await t.end();
  }
}

/**
 * The source as the tests compare it: a digest of every table's rows (each row as SQL Server's own
 * JSON of all its columns, binary as base64, sorted), the schema objects by name, id and creation
 * time, the permissions and the database's options, and what ferry may have left (its schemas and
 * any trigger).
 */
export async function sourceState(
  m: MssqlMigration,
): Promise<{ digests: Record<string, string>; objects: string[]; leftovers: string[] }> {
  const a = await m.admin();
  try {
    const tables = await a.rows(
      `SELECT s.name AS s, t.name AS t FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id
        WHERE s.name IN (${APP_SCHEMAS.map((x) => `N'${x}'`).join(', ')}) ORDER BY 1, 2`,
    );
    const digests: Record<string, string> = {};
    for (const row of tables) {
      const q = `${mssqlIdent(String(row['s']))}.${mssqlIdent(String(row['t']))}`;
      const rows = await textRows(
        a,
        `SELECT (SELECT x.* FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES) AS r FROM ${q} AS x`,
      );
      digests[`${String(row['s'])}.${String(row['t'])}`] = createHash('sha256')
        .update(rows.sort().join('\n'))
        .digest('hex');
    }
    const objects = await textRows(
      a,
      `SELECT CONCAT(o.type_desc, ' ', SCHEMA_NAME(o.schema_id), '.', o.name, ' #', o.object_id, ' ',
                     CONVERT(varchar(30), o.create_date, 126), ' parent #', o.parent_object_id) AS r
         FROM sys.objects o WHERE o.is_ms_shipped = 0
       UNION ALL SELECT CONCAT('SCHEMA ', name, ' #', schema_id, ' owner #', principal_id) FROM sys.schemas
       UNION ALL SELECT CONCAT('PERMISSION ', state_desc, ' ', permission_name, ' ', class_desc, ' #', major_id,
                               ' to ', USER_NAME(grantee_principal_id)) FROM sys.database_permissions
       UNION ALL SELECT CONCAT('DATABASE read_only=', is_read_only, ' user_access=', user_access_desc,
                               ' snapshot=', snapshot_isolation_state_desc, ' rcsi=', is_read_committed_snapshot_on)
         FROM sys.databases WHERE name = DB_NAME()`,
    );
    const leftovers = await textRows(
      a,
      `SELECT CONCAT('schema ', name) AS r FROM sys.schemas WHERE name LIKE N'ferry[_]%'
       UNION ALL SELECT CONCAT('trigger ', OBJECT_SCHEMA_NAME(parent_id), '.', OBJECT_NAME(parent_id), ' ', name)
         FROM sys.triggers WHERE parent_class = 1`,
    );
    return { digests, objects: objects.sort(), leftovers: leftovers.sort() };
  } finally {
    await a.close();
  }
}

/** Drops what a test put on the target (its schemas, ferry's state schemas). */
export async function resetTarget(m: MssqlMigration): Promise<void> {
  const c = await m.target();
  try {
    for (const s of APP_SCHEMAS) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    const { rows } = await c.query<{ s: string }>(
      "SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE 'ferry\\_%'",
    );
    for (const { s } of rows) await c.query(`DROP SCHEMA "${s}" CASCADE`);
  } finally {
    await c.end();
  }
}
