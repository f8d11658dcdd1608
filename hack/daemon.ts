// What the throwaway servers (postgres/, mariadb/) share: running as a service user when we are root,
// one-shot commands, and stopping a daemon by its pid.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, readdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.ts';

export type Ids = { uid: number; gid: number };

/** uid/gid to run a server as: ourselves, or the given system user when we are root (servers refuse root). */
export function runAs(user: string): Ids | undefined {
  if (userInfo().uid !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export function chownTree(path: string, ids: Ids): void {
  chownSync(path, ids.uid, ids.gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), ids);
}

/** Runs a command to completion; its stderr goes into the error when it fails. */
export function run(cmd: string, args: string[], ids: Ids | undefined, stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...ids,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the daemon we started by its pid (0: never started) with `signal`, SIGKILL if it lingers. */
export async function shutdown(pid: number, signal: NodeJS.Signals, what: string): Promise<void> {
  if (pid === 0 || !alive(pid)) return;
  process.kill(pid, signal);
  try {
    await waitFor(async () => !alive(pid), 30_000, `${what} pid ${pid} to stop`);
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

/** The daemon exited before it accepted connections. */
export class DaemonExited extends Error {}

/** Polls `ready` until true; a daemon that exits first (its port taken by another, say) fails at once. */
export async function waitForDaemon(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  let code: number | null | undefined;
  child.once('exit', (c) => (code = c));
  await waitFor(
    async () => {
      if (code !== undefined) throw new DaemonExited(`${what} exited (${code}) before accepting connections`);
      return ready();
    },
    timeoutMs,
    what,
  );
}

/**
 * Launches a daemon on `fixed`, or on a free port. A free port can be taken by another process
 * between the pick and the daemon's bind (servers started in parallel): then another is picked.
 */
export async function launchOnPort(
  fixed: number | undefined,
  setPort: (port: number) => void,
  launch: () => Promise<void>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    setPort(fixed ?? (await freePort()));
    try {
      return await launch();
    } catch (e) {
      if (fixed !== undefined || !(e instanceof DaemonExited) || attempt === 5) throw e;
    }
  }
}
