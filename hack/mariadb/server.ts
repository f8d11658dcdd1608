// Throwaway MariaDB servers on 127.0.0.1 for tests and the benchmark, like ../postgres/server.ts:
// Debian's mariadb-server (10.11), a fresh data directory in a temporary directory, a free port, its
// own socket and pid file (never the system server's), root with a password over TCP only. The server
// refuses to run as root, so when we are root it runs as the `mysql` system user.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'mysql2';
import { chownTree, launchOnPort, run, runAs, shutdown, waitForDaemon } from '../daemon.ts';

export interface MariadbServer {
  version: string;
  host: string;
  port: number;
  user: string;
  password: string;
  pid: number;
  dataDir: string;
  /** Connection string for tests; carries the password, so never log it. */
  url(database?: string): string;
  /** mysql2 options: host, port, user, password and the database when given (mysql2 reads no my.cnf or env). */
  connection(database?: string): ConnectionOptions;
  /** Shutdown by pid, `downMs` down, then started again on the same data directory and port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where data directories go; a fresh temporary directory by default. */
  baseDir?: string;
  port?: number;
  /** Extra `--name=value` server options (e.g. `default-time-zone: '+02:00'`). */
  settings?: Record<string, string>;
  /** Write a binary log (ROW format), so SHOW MASTER STATUS has a position. */
  binlog?: boolean;
}

const PASSWORD = 'ferry-test-password';
const MARIADBD = '/usr/sbin/mariadbd';

/** Root gets the password; the passwordless roots install-db makes for other hosts (::1, the host name) go. */
const BOOTSTRAP = `
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1');
FLUSH PRIVILEGES;
ALTER USER root@localhost IDENTIFIED BY '${PASSWORD}';
CREATE OR REPLACE USER root@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
`;

export async function startMariadb(opts: StartOptions = {}): Promise<MariadbServer> {
  if (!existsSync(MARIADBD))
    throw new Error(`${MARIADBD} not found: install Debian's mariadb-server (hack/test-deps.sh does)`);
  const ids = runAs('mysql');
  const root = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'ferry-mariadb-'));
  const dataDir = join(root, 'data');
  // Its own tmpdir: a starting mariadbd deletes every `#sql*` file in its tmpdir as left over from a
  // crash, so servers sharing /tmp removed each other's temporary tables mid-bootstrap (a flaky
  // "Unknown table 'mysql.tmp_user_sys'" when two started at once).
  const tmp = join(root, 'tmp');
  mkdirSync(tmp);
  if (ids) chownTree(root, ids);
  // --no-defaults everywhere: the machine's /etc/mysql and ~/.my.cnf must not reach these servers.
  await run(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmp}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    ids,
  );
  await run(
    MARIADBD,
    [
      '--no-defaults',
      '--bootstrap',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmp}`,
      `--log-error=${join(root, 'bootstrap.log')}`,
    ],
    ids,
    BOOTSTRAP,
  );
  let port = 0;
  const logFile = join(root, 'server.log');
  const pidFile = join(root, 'mariadb.pid');
  const settings = (): Record<string, string> => ({
    datadir: dataDir,
    tmpdir: tmp,
    port: String(port),
    'bind-address': '127.0.0.1',
    socket: join(root, 'mariadb.sock'),
    'pid-file': pidFile,
    'log-error': logFile,
    'skip-name-resolve': 'ON',
    'max-connections': '200',
    'character-set-server': 'utf8mb4',
    'innodb-buffer-pool-size': '256M',
    'innodb-flush-log-at-trx-commit': '0',
    'innodb-doublewrite': '0',
    ...(opts.binlog
      ? { 'log-bin': join(root, 'binlog'), 'server-id': '1', 'binlog-format': 'ROW', 'sync-binlog': '0' }
      : {}),
    ...opts.settings,
  });
  const launch = async () => {
    const log = openSync(join(root, 'stderr.log'), 'a');
    const args = ['--no-defaults', ...Object.entries(settings()).map(([k, v]) => `--${k}=${v}`)];
    const child = spawn(MARIADBD, args, { ...ids, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new Error('mariadbd did not start');
    server.pid = child.pid;
    await waitForDaemon(
      child,
      () => isAccepting(server, pidFile),
      30_000,
      `mariadb on port ${port} (log: ${logFile})`,
    );
  };
  const connection = (database?: string): ConnectionOptions => ({
    host: '127.0.0.1',
    port,
    user: 'root',
    password: PASSWORD,
    ...(database === undefined ? {} : { database }),
  });
  const server: MariadbServer = {
    version: '',
    host: '127.0.0.1',
    port,
    user: 'root',
    password: PASSWORD,
    pid: 0,
    dataDir,
    url: (database = '') =>
      `mysql://root:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    connection,
    restart: async (downMs = 0) => {
      await shutdown(server.pid, 'SIGTERM', 'mariadbd');
      await new Promise((res) => setTimeout(res, downMs));
      await launch();
    },
    stop: async () => {
      await shutdown(server.pid, 'SIGTERM', 'mariadbd');
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await launchOnPort(opts.port, (p) => (port = server.port = p), launch);
    server.version = await versionOf(server);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

async function selectOne(s: MariadbServer, expression: string): Promise<string> {
  const { createConnection } = await import('mysql2/promise');
  const c = await createConnection(s.connection());
  try {
    const [rows] = await c.query<(import('mysql2').RowDataPacket & { v: string })[]>(
      `SELECT ${expression} AS v`,
    );
    return rows[0]!.v;
  } finally {
    await c.end();
  }
}

const versionOf = (s: MariadbServer) => selectOne(s, 'VERSION()');

/** Our server answers on its port (not another one that took the port first). */
async function isAccepting(s: MariadbServer, pidFile: string): Promise<boolean> {
  try {
    return (await selectOne(s, '@@pid_file')) === pidFile;
  } catch {
    return false;
  }
}
