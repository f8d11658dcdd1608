// A run paused (FERRY_FAULT with FERRY_FAULT_SIGNAL=SIGSTOP) at each phase start and at the steps that
// hold connections open, a database server restarted at each pause, and ferry continued: what the
// restart tests of each source engine share.
import { expect } from 'vitest';
import { faultPointsOf, type FaultPoint } from '../../engine/faults.ts';
import { stopped, type CliResult, type startFerry } from './cli.ts';

/** Phase starts and the steps that hold connections, in the order a run of the mode reaches them. */
export const pausePoints = (mode: 'Standard' | 'DowntimeOptimized'): FaultPoint[] =>
  faultPointsOf(mode).filter(
    (p) =>
      p.endsWith('.start') ||
      [
        'transfer.chunk-committed',
        'after-load.step-done',
        'replay.target-committed',
        'cutover.final-drain',
        'cleanup.before-drops',
      ].includes(p),
  );

export interface Outcome {
  /** Points whose restart the run went on from by itself. */
  continued: FaultPoint[];
  /** Points whose restart stopped the run, with its error; a new run then completed. */
  stopped: { point: FaultPoint; error: string }[];
}

/**
 * Runs until Completed, pausing at each point once; at each pause `server` restarts. A run that
 * fails is run again, pausing at the points it did not reach. `env`: ferry's environment (passwords).
 */
export async function runWithRestarts(
  start: (env: Record<string, string>) => {
    child: ReturnType<typeof startFerry>['child'];
    done: Promise<CliResult>;
  },
  env: Record<string, string>,
  server: { restart(downMs?: number): Promise<void> },
  points: FaultPoint[],
  onRestart: () => void = () => {},
): Promise<Outcome> {
  const outcome: Outcome = { continued: [], stopped: [] };
  let remaining = [...points];
  for (let attempt = 1; attempt <= points.length + 1; attempt++) {
    const run = start({ ...env, FERRY_FAULT: remaining.join(','), FERRY_FAULT_SIGNAL: 'SIGSTOP' });
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let result: CliResult | undefined;
    void run.done.then((x) => (result = x));
    let last: FaultPoint | undefined;
    let handled = 0;
    const reached = () => [...stderr.matchAll(/fault point (\S+) reached/g)].map((m) => m[1] as FaultPoint);
    while (!result) {
      await new Promise((res) => setTimeout(res, 50));
      // Stopped, and its message (written just before) read from the pipe.
      if (result || !stopped(run.child.pid!) || reached().length <= handled) continue;
      if (last) outcome.continued.push(last);
      last = reached()[handled++]!;
      remaining = remaining.filter((p) => p !== last);
      await server.restart(300);
      onRestart();
      run.child.kill('SIGCONT');
    }
    if (result.code === 0) {
      if (last) outcome.continued.push(last);
      return outcome;
    }
    const error = /ferry: error: (.*)/.exec(result.stderr)?.[1] ?? `exit ${result.code} ${result.signal}`;
    expect(last, `failed without a restart: ${result.stderr}`).toBeDefined();
    outcome.stopped.push({ point: last!, error });
  }
  throw new Error('no run completed');
}
