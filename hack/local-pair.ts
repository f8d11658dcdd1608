// Two throwaway PostgreSQL servers, 15 as the source and 18 as the target (a real upgrade path; the
// benchmark may ask for 15 on both), and a Migration manifest pointing from one to the other. Used by
// the CLI demo, the benchmark and the end-to-end tests.
import pg from 'pg';
import { stringify } from 'yaml';
import { startPostgres, type PostgresServer, type PostgresVersion } from './postgres/server.ts';

export interface LocalPair {
  source: PostgresServer;
  target: PostgresServer;
  /** Environment that carries both passwords, for `password.env` in the manifest. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface PairOptions {
  target?: PostgresVersion;
  /** Extra settings of the source server (the benchmark's durable source). */
  sourceSettings?: Record<string, string>;
}

export async function startLocalPair(opts: PairOptions = {}): Promise<LocalPair> {
  const [source, target] = await Promise.all([
    startPostgres({ version: 15, settings: opts.sourceSettings }),
    startPostgres({ version: opts.target ?? 18 }),
  ]);
  for (const s of [source, target]) {
    const c = new pg.Client({ connectionString: s.url() });
    await c.connect();
    await c.query('CREATE DATABASE shop');
    await c.end();
  }
  return {
    source,
    target,
    env: { FERRY_DEMO_SOURCE_PASSWORD: source.password, FERRY_DEMO_TARGET_PASSWORD: target.password },
    stop: async () => {
      await Promise.all([source.stop(), target.stop()]);
    },
  };
}

/** A login for the manifest: the user, and the environment variable that holds its password. */
export interface Login {
  user: string;
  passwordEnv: string;
}

export interface ManifestOptions {
  /** Who ferry connects as on each side; the servers' superuser `postgres` by default. */
  users?: { source: Login; target: Login };
}

export function manifestFor(
  pair: LocalPair,
  name: string,
  spec: Record<string, unknown> = {},
  opts: ManifestOptions = {},
): string {
  // spec.schemas excludes the connections' schema.
  const conn = (s: PostgresServer, login: Login, schema: string) => ({
    engine: 'postgres',
    host: s.host,
    port: s.port,
    database: 'shop',
    user: login.user,
    password: { env: login.passwordEnv },
    ...(spec['schemas'] === undefined ? { schema } : {}),
  });
  const users = opts.users ?? {
    source: { user: pair.source.user, passwordEnv: 'FERRY_DEMO_SOURCE_PASSWORD' },
    target: { user: pair.target.user, passwordEnv: 'FERRY_DEMO_TARGET_PASSWORD' },
  };
  return stringify({
    apiVersion: 'ferry.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name },
    spec: {
      source: conn(pair.source, users.source, 'shop'),
      target: conn(pair.target, users.target, 'shop'),
      ...spec,
    },
  });
}

export async function query<T extends pg.QueryResultRow>(
  s: PostgresServer,
  sql: string,
  params: unknown[] = [],
  db = 'shop',
): Promise<T[]> {
  const c = new pg.Client({ connectionString: s.url(db) });
  // A server restarting under a test ends this session with a FATAL that pg emits as an event once
  // no query is waiting for it: with no listener, the test process itself would crash. A query in
  // flight still fails with it.
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export async function queryOne<T extends pg.QueryResultRow>(
  s: PostgresServer,
  sql: string,
  params: unknown[] = [],
  db = 'shop',
): Promise<T> {
  const rows = await query<T>(s, sql, params, db);
  if (rows.length !== 1) throw new Error(`expected one row from ${sql}, got ${rows.length}`);
  return rows[0]!;
}
