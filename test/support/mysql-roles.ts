// A MariaDB source set up as in production, for `ferry run` tests: the application user owns the
// `shop` database and writes it; ferry runs as a migration user holding exactly the GRANTs the
// README lists for a MySQL source (no SUPER, no global write). The PostgreSQL target has a `shop`
// database. Passwords are random per run, handed to ferry in environment variables.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import type { PostgresVersion } from '../../hack/postgres/server.ts';
import { mysqlRun, startMysqlPair, type MysqlPair } from './mysql.ts';

export const APP_USER = 'shop_app';
export const MIGRATOR_USER = 'ferry_migrator';

/** The GRANTs README ("MySQL and MariaDB sources") documents for the migration user. */
export const MIGRATOR_GRANTS = (database: string) => [
  `GRANT SELECT, TRIGGER, LOCK TABLES ON \`${database}\`.* TO '${MIGRATOR_USER}'@'%'`,
  `GRANT ALL PRIVILEGES ON \`ferry\\_%\`.* TO '${MIGRATOR_USER}'@'%'`,
  `GRANT PROCESS ON *.* TO '${MIGRATOR_USER}'@'%'`,
];

/** Where a manifest takes a password from (spec.<side>.password). */
export type PasswordRef = Record<string, unknown>;

export interface MysqlMigration {
  pair: MysqlPair;
  /** ferry's environment: the passwords the manifests name. */
  env: Record<string, string>;
  /** The passwords of the migration user (source) and of the target's user. */
  passwords: { source: string; target: string };
  /**
   * spec.source (the MariaDB `shop` as the migration user) and spec.target (PostgreSQL `shop`), their
   * passwords from where `passwords` says.
   */
  connections(passwords: { source: PasswordRef; target: PasswordRef }): {
    source: Record<string, unknown>;
    target: Record<string, unknown>;
  };
  /** A manifest file for `ferry` (source: the MariaDB `shop` as the migration user; target: PostgreSQL `shop`). */
  manifest(name: string, spec?: Record<string, unknown>, source?: Record<string, unknown>): string;
  /** A session of the application user on `shop`. */
  app(): Promise<Connection>;
  /** A root session (test bookkeeping only). */
  root(): Promise<Connection>;
  target(): Promise<pg.Client>;
  stop(): Promise<void>;
}

export async function startMysqlMigration(
  opts: { targetVersion?: PostgresVersion } = {},
): Promise<MysqlMigration> {
  // The binary log is on: a user without SUPER creates triggers only where the server trusts it to
  // (set as in the server's configuration, so that it holds after a restart).
  const pair = await startMysqlPair({ 'log-bin-trust-function-creators': 'ON' }, opts.targetVersion);
  const appPassword = randomBytes(12).toString('hex');
  const migratorPassword = randomBytes(12).toString('hex');
  await mysqlRun(
    pair.my,
    [
      'CREATE DATABASE shop CHARACTER SET utf8mb4',
      `CREATE USER '${APP_USER}'@'%' IDENTIFIED BY '${appPassword}'`,
      `GRANT ALL PRIVILEGES ON shop.* TO '${APP_USER}'@'%'`,
      `CREATE USER '${MIGRATOR_USER}'@'%' IDENTIFIED BY '${migratorPassword}'`,
      ...MIGRATOR_GRANTS('shop'),
    ].join(';\n'),
  );
  const admin = new pg.Client({ connectionString: pair.pg.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE shop');
  await admin.end();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-mysql-'));
  const env = { FERRY_TEST_MYSQL_PASSWORD: migratorPassword, FERRY_TEST_PG_PASSWORD: pair.pg.password };
  const connections: MysqlMigration['connections'] = (passwords) => ({
    source: {
      engine: 'mysql',
      host: pair.my.host,
      port: pair.my.port,
      database: 'shop',
      user: MIGRATOR_USER,
      password: passwords.source,
    },
    target: {
      engine: 'postgres',
      host: pair.pg.host,
      port: pair.pg.port,
      database: 'shop',
      user: pair.pg.user,
      password: passwords.target,
    },
  });
  return {
    pair,
    env,
    passwords: { source: migratorPassword, target: pair.pg.password },
    connections,
    manifest: (name, spec = {}, source = {}) => {
      const file = join(dir, `${name}.yaml`);
      const sides = connections({
        source: { env: 'FERRY_TEST_MYSQL_PASSWORD' },
        target: { env: 'FERRY_TEST_PG_PASSWORD' },
      });
      writeFileSync(
        file,
        stringify({
          apiVersion: 'ferry.dev/v1alpha1',
          kind: 'Migration',
          metadata: { name },
          spec: { source: { ...sides.source, ...source }, target: sides.target, ...spec },
        }),
      );
      return file;
    },
    app: () =>
      createConnection({
        host: pair.my.host,
        port: pair.my.port,
        user: APP_USER,
        password: appPassword,
        database: 'shop',
        multipleStatements: true,
      }),
    root: () => createConnection({ ...pair.my.connection(), multipleStatements: true }),
    target: async () => {
      const c = new pg.Client({ connectionString: pair.pg.url('shop') });
      await c.connect();
      await c.query("SET TimeZone = 'UTC'");
      return c;
    },
    stop: () => pair.stop(),
  };
}

/** The target's schemas a migration makes: shop and every ferry schema, in name order. */
export async function targetSchemas(m: MysqlMigration): Promise<string[]> {
  const c = await m.target();
  try {
    const { rows } = await c.query<{ s: string }>(
      "SELECT nspname AS s FROM pg_namespace WHERE nspname = 'shop' OR nspname LIKE 'ferry\\_%' ORDER BY 1",
    );
    return rows.map((r) => r.s);
  } finally {
    await c.end();
  }
}

/** Empties the target for the next test: schema shop and every ferry schema, whatever a failed test left. */
export async function resetTarget(m: MysqlMigration): Promise<void> {
  const schemas = await targetSchemas(m);
  const c = await m.target();
  try {
    for (const s of schemas) await c.query(`DROP SCHEMA "${s}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** A table's rows as canonical text, by a query on each side (independent of ferry's own digest). */
export interface Canonical {
  mysql: string;
  pg: string;
}

/** Every row of each table on both sides, as the canonical queries render them, sorted. */
export async function bothSides(
  m: MysqlMigration,
  tables: Record<string, Canonical>,
): Promise<Record<string, { source: string[]; target: string[] }>> {
  const root = await m.root();
  const pg = await m.target();
  try {
    const out: Record<string, { source: string[]; target: string[] }> = {};
    for (const [t, q] of Object.entries(tables)) {
      const [rows] = await root.query<import('mysql2').RowDataPacket[]>(q.mysql);
      out[t] = {
        source: rows.map((r) => String(r['r'])).sort(),
        target: (await pg.query<{ r: string }>(q.pg)).rows.map((r) => r.r).sort(),
      };
    }
    return out;
  } finally {
    await root.end();
    await pg.end();
  }
}

/** CHECKSUM TABLE of every table of `shop`, by table: the source byte for byte. */
export async function checksums(root: Connection): Promise<Record<string, string>> {
  const [tables] = await root.query<{ t: string }[] & import('mysql2').RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY 1",
  );
  if (!tables.length) return {};
  const [rows] = await root.query<import('mysql2').RowDataPacket[]>(
    `CHECKSUM TABLE ${tables.map((r) => `shop.\`${r['t']}\``).join(', ')} EXTENDED`,
  );
  return Object.fromEntries(rows.map((r) => [String(r['Table']), String(r['Checksum'])]));
}

/** What ferry may have left on the MariaDB server: its databases and its triggers. */
export async function mysqlLeftovers(root: Connection): Promise<string[]> {
  const [rows] = await root.query<import('mysql2').RowDataPacket[]>(
    `SELECT CONCAT('database ', SCHEMA_NAME) AS x FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'ferry\\_%'
     UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_NAME LIKE 'ferry\\_%'`,
  );
  return rows.map((r) => String(r['x']));
}

/** The source as the tests compare it: every table's checksum, and what ferry left on the server. */
export async function sourceState(
  m: MysqlMigration,
): Promise<{ sums: Record<string, string>; leftovers: string[] }> {
  const root = await m.root();
  try {
    return { sums: await checksums(root), leftovers: await mysqlLeftovers(root) };
  } finally {
    await root.end();
  }
}
