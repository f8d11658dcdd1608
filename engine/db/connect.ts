// Connections to PostgreSQL, with errors that say which side failed and why, without secrets.
import pg from 'pg';
import type { ResolvedConnection } from '../api/settings.ts';
import { ConfigError, resolvePassword, type Role } from './password.ts';
import { checksCertificate, explainTls, resolveRootCert, tlsOptions } from './tls.ts';

export type Client = pg.Client;

/**
 * Settings under which values render as text identically on both sides (checksums compare them) and
 * read back exactly (keys recorded by the source triggers are rendered under the same ones).
 */
export const RENDERING: Readonly<Record<string, string>> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  bytea_output: 'hex',
  extra_float_digits: '1',
};

const SESSION = [
  ...Object.entries(RENDERING).map(([k, v]) => `SET ${k} = '${v}'`),
  // ferry's own sessions write its state even where the database defaults to read-only.
  'SET default_transaction_read_only = off',
].join('; ');

export class ConnectError extends Error {
  override name = 'ConnectError';
}

export interface Endpoint {
  role: Role;
  conn: ResolvedConnection;
  /** Read on first use: a side ferry never connects to needs no password there (a system move). */
  readonly password: string;
  /** The CA (PEM) that must sign the server's certificate (verify-ca, verify-full). */
  readonly rootCert: string | undefined;
  applicationName: string;
  /** Why this side is never connected to (ferry export: the target; ferry import: the source). */
  offline?: string;
}

/**
 * `password` and `rootCert` are given by callers that read them themselves (the operator, from
 * Secrets and ConfigMaps); otherwise they are read (environment, file) when first needed.
 */
export function endpoint(
  role: Role,
  conn: ResolvedConnection,
  migration: string,
  password?: string,
  rootCert?: string,
  offline?: string,
): Endpoint {
  let ca: { pem: string | undefined } | undefined;
  return {
    role,
    conn,
    get password() {
      return (password ??= resolvePassword(role, conn.password));
    },
    get rootCert() {
      ca ??= {
        pem: checksCertificate(conn.sslMode)
          ? (rootCert ?? resolveRootCert(role, conn.sslRootCert))
          : undefined,
      };
      return ca.pem;
    },
    applicationName: `ferry:${migration}`,
    ...(offline !== undefined && { offline }),
  };
}

export const describeEndpoint = (e: Endpoint) =>
  `${e.role} ${e.conn.user}@${e.conn.host}:${e.conn.port}/${e.conn.database}`;

function explain(e: Endpoint, err: unknown): ConnectError {
  const where = describeEndpoint(e);
  const code = (err as { code?: string }).code;
  const msg = err instanceof Error ? err.message : String(err);
  const scrubbed = msg.replaceAll(e.password, '[redacted]');
  const why =
    explainTls(e.role, e.conn.host, err) ??
    (code === '28P01' || code === '28000'
      ? `authentication failed for user ${e.conn.user}`
      : code === '3D000'
        ? `database ${e.conn.database} does not exist`
        : code === 'ECONNREFUSED'
          ? 'connection refused (is the server running and the port right?)'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? `host ${e.conn.host} not found`
            : /timeout/i.test(scrubbed)
              ? 'unreachable (connection timed out)'
              : scrubbed);
  // The driver's code stays: a refused or not-yet-ready server is worth retrying, bad credentials are not.
  return Object.assign(new ConnectError(`cannot connect to ${where}: ${why}`), { code });
}

export async function connect(e: Endpoint, purpose = 'ferry'): Promise<Client> {
  if (e.offline !== undefined) throw new ConfigError(e.offline);
  const client = new pg.Client({
    host: e.conn.host,
    port: e.conn.port,
    database: e.conn.database,
    user: e.conn.user,
    password: e.password,
    ssl: tlsOptions(e.conn.sslMode, e.rootCert),
    application_name: `${e.applicationName}:${purpose}`.slice(0, 63),
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // An idle client whose server goes away emits 'error'; the next query reports it instead.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(SESSION);
  } catch (err) {
    await client.end().catch(() => {});
    throw explain(e, err);
  }
  return client;
}

/** Runs fn on a fresh connection and closes it. */
export async function withClient<T>(e: Endpoint, purpose: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect(e, purpose);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function inTransaction<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const r = await fn();
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The server's PostgreSQL major version. */
export async function majorVersion(c: Client): Promise<number> {
  const { rows } = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Math.floor(Number(rows[0]!.v) / 10000);
}

/** Connections the server can still accept. */
export async function freeConnections(c: Client): Promise<number> {
  const { rows } = await c.query<{ free: number }>(
    `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
            - (SELECT count(*) FROM pg_stat_activity)::int AS free`,
  );
  return rows[0]!.free;
}
