// Running the client tools the benchmark compares (psql, pg_dump, pg_restore, pgcopydb, ferry) with
// every connection parameter explicit: host, port, user, database and sslmode on the command line,
// passwords only in a .pgpass file named by PGPASSFILE in the child's environment, and none of the
// caller's PG* variables (PGPASSWORD, PGSERVICE, PGOPTIONS...) passed on.
import { spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { PostgresServer } from '../hack/postgres/server.ts';

/** The executable `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** libpq keyword/value connection string without the password. */
export const conninfo = (s: PostgresServer, database: string) =>
  `host=${s.host} port=${s.port} user=${s.user} dbname=${database} sslmode=disable`;

/** The same as a URI (pgcopydb takes URIs), without the password. */
export const uri = (s: PostgresServer, database: string) =>
  `postgres://${encodeURIComponent(s.user)}@${s.host}:${s.port}/${encodeURIComponent(database)}?sslmode=disable`;

const pgpassField = (v: string | number) => String(v).replaceAll('\\', '\\\\').replaceAll(':', '\\:');

/** .pgpass lines with each server's password, for any database. */
export const pgpass = (servers: readonly Pick<PostgresServer, 'host' | 'port' | 'user' | 'password'>[]) =>
  servers.map((s) => [s.host, s.port, '*', s.user, s.password].map(pgpassField).join(':') + '\n').join('');

/** Writes the .pgpass (mode 0600, or libpq ignores it) into `dir`; returns its path. */
export function writePgpass(dir: string, servers: readonly PostgresServer[]): string {
  const path = join(dir, 'pgpass');
  writeFileSync(path, pgpass(servers), { mode: 0o600 });
  return path;
}

/** The caller's environment without PG* variables, plus `extra`. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

/** Runs a command to completion; resolves with its stdout, rejects with the tail of its stderr, else of its stdout (argv holds no secret). */
export function exec(cmd: string, args: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Long runs log a lot; the tail is what explains a failure.
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            // Some tools (pgloader) log their errors to stdout.
            new Error(
              `${[cmd, ...args].join(' ').slice(0, 300)} exited ${code}: ${(err.trim() || out).slice(-2000).trim()}`,
            ),
          ),
    );
  });
}
