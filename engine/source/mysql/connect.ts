// Sessions on a MySQL/MariaDB source, with errors that say what failed and why, without secrets.
// Every session reads as the snapshot readers do (read.ts, READ_SESSION): UTC, values as their raw
// bytes; `text` turns a result's bytes back into a string where ferry reads its own state.
import type { Connection, ConnectionOptions, RowDataPacket } from 'mysql2';
import { ConnectError, describeEndpoint, type Endpoint } from '../../db/connect.ts';
import { explainTls, tlsOptions } from '../../db/tls.ts';
import { openReader, query } from './read.ts';

/** The driver's options for an endpoint: every parameter explicit (mysql2 reads no my.cnf or environment). */
export function connectionOptions(e: Endpoint): ConnectionOptions {
  const ssl = tlsOptions(e.conn.sslMode, e.rootCert);
  return {
    host: e.conn.host,
    port: e.conn.port,
    user: e.conn.user,
    password: e.password,
    database: e.conn.database,
    connectTimeout: 10_000,
    enableKeepAlive: true,
    ...(ssl ? { ssl: ssl as ConnectionOptions['ssl'] } : {}),
  };
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
]);

/**
 * mysql2's errors carry MySQL's names (`ER_ACCESS_DENIED_ERROR`); the engine retries what its
 * `isTransient` knows, so connection losses and deadlocks are given the SQLSTATE class it retries.
 */
export function normalizeError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (err instanceof Error && code && TRANSIENT_CODES.has(code) && !/^(08|40)/.test(code))
    Object.assign(err, { mysqlCode: code, code: code === 'ER_LOCK_DEADLOCK' ? '40P01' : '08006' });
  return err;
}

function explain(e: Endpoint, err: unknown): ConnectError {
  const where = describeEndpoint(e);
  const code = (err as { code?: string }).code;
  const msg = (err instanceof Error ? err.message : String(err)).replaceAll(e.password, '[redacted]');
  const why =
    explainTls(e.role, e.conn.host, err) ??
    (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR'
      ? `authentication failed for user ${e.conn.user}`
      : code === 'ER_BAD_DB_ERROR'
        ? `database ${e.conn.database} does not exist`
        : code === 'ER_DBACCESS_DENIED_ERROR'
          ? `user ${e.conn.user} may not use database ${e.conn.database} (GRANT SELECT ON \`${e.conn.database}\`.* TO it)`
          : code === 'ECONNREFUSED'
            ? 'connection refused (is the server running and the port right?)'
            : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
              ? `host ${e.conn.host} not found`
              : /timeout/i.test(msg)
                ? 'unreachable (connection timed out)'
                : msg);
  return Object.assign(new ConnectError(`cannot connect to ${where}: ${why}`), {
    code: code && TRANSIENT_CODES.has(code) ? '08006' : code,
  });
}

/**
 * ferry's own statements (state, triggers, DDL) quote strings with doubled quotes and backslashes and
 * names with backticks, whatever the server's default sql_mode; triggers keep the mode they were made in.
 */
const SQL_MODE = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'";

/** A session on the source's database. */
export async function openSession(e: Endpoint): Promise<Connection> {
  let c: Connection | undefined;
  try {
    c = await openReader(connectionOptions(e));
    await query(c, SQL_MODE);
    return c;
  } catch (err) {
    c?.destroy();
    throw explain(e, err);
  }
}

/** Runs a statement; errors come back normalized (normalizeError). */
export async function run<T = RowDataPacket[]>(
  c: Connection,
  sql: string,
  params: unknown[] = [],
): Promise<T> {
  try {
    return await query<T>(c, sql, params);
  } catch (err) {
    throw normalizeError(err);
  }
}

/** A value as the session sends it (bytes: it reads with character_set_results = binary) as a string. */
export function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** The rows of a query, each value as text. */
export async function rows(
  c: Connection,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, string | null>[]> {
  const out = await run<RowDataPacket[]>(c, sql, params);
  return out.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, text(v)])));
}

/** Quotes a string literal for MySQL (NO_BACKSLASH_ESCAPES or not: backslashes are doubled). */
export const mysqlLiteral = (s: string): string =>
  `'${s.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll('\0', '\\0')}'`;
