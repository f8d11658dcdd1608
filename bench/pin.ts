// CPU placement for the DowntimeOptimized scenario. In production the source server has cores of its
// own: ferry, the target and the bulk copy run elsewhere. On one small machine they would compete
// with the application's writers for the same cores, and the writers' latency would measure that
// crowding, not what recording costs the source. So the source server and the writers get the first
// CPU, ferry and the target the others. Linux only (taskset, /proc); elsewhere nothing is pinned.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

export interface Placement {
  /** CPUs of the source server and the application's writers (this process). */
  source: string;
  /** CPUs of ferry and the target server. */
  rest: string;
}

/** The CPUs this process may use ("0-3,6"), read once: before any pinning, they are the machine's. */
const ALLOWED = existsSync('/proc/self/status')
  ? /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  : undefined;

/** "0-2,5" as [0, 1, 2, 5]. Pure. */
export function cpuList(list: string): number[] {
  return list.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number) as [number, number?];
    return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
  });
}

/** The placement on this machine, or undefined where there are fewer than 2 CPUs or no taskset. */
export function placement(): Placement | undefined {
  const cpus = ALLOWED ? cpuList(ALLOWED) : [];
  if (cpus.length < 2) return undefined;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { source: String(cpus[0]), rest: cpus.slice(1).join(',') };
}

/** The pids of a process and of all its descendants. */
function tree(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((t) => {
    const file = `/proc/${pid}/task/${t}/children`;
    return existsSync(file) ? readFileSync(file, 'utf8').split(' ').filter(Boolean).map(Number) : [];
  });
  return [pid, ...children.flatMap(tree)];
}

/** Pins every thread of a process to `cpus`, and with `descendants` its children's too (a postmaster's backends). */
export function pin(pid: number, cpus: string, { descendants = false } = {}): void {
  for (const p of descendants ? tree(pid) : [pid])
    try {
      execFileSync('taskset', ['-a', '-pc', cpus, String(p)], { stdio: 'ignore' });
    } catch (e) {
      // A backend that ended since it was listed.
      if (existsSync(`/proc/${p}`)) throw e;
    }
}

/** Gives a process back every CPU it started with. */
export function unpin(pid: number): void {
  if (ALLOWED) pin(pid, ALLOWED);
}

/** The command line that runs `command` on `cpus` (with a placement), or as it is. */
export function onCpus(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
}
