// The source (and, separately, the target) PostgreSQL restarted while a run is in each phase and at
// the steps that hold connections open (a chunk copy, a post-load build, a replay batch, the cutover):
// ferry pauses itself there (FERRY_FAULT with FERRY_FAULT_SIGNAL=SIGSTOP), the server is stopped and
// started again on the same data directory, and ferry continues. The run either goes on by itself
// (the transfer retries its chunk, the replay reconnects) or stops, and then a second run completes;
// either way the target ends exactly the source, with nothing of ferry's left and the fence down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresServer } from '../hack/postgres/server.ts';
import { faultPointsOf, type FaultPoint } from './faults.ts';
import { startFerry, stopped, type CliResult } from '../test/support/cli.ts';
import {
  applicationCanWrite,
  bothDigests,
  ferryLeftovers,
  resetTarget,
  runApproving,
  startRehearsal,
  type Rehearsal,
} from '../test/support/rehearsal.ts';
import { startWriters, type Writers } from '../test/support/writers.ts';

let r: Rehearsal;

beforeAll(async () => {
  r = await startRehearsal();
});
afterAll(async () => r?.pair.stop());

/** Phase starts and the steps that hold connections, in the order a run of the mode reaches them. */
const pausePoints = (mode: 'Standard' | 'DowntimeOptimized'): FaultPoint[] =>
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

interface Outcome {
  /** Points whose restart the run went on from by itself. */
  continued: FaultPoint[];
  /** Points whose restart stopped the run, with its error; a new run then completed. */
  stopped: { point: FaultPoint; error: string }[];
}

/**
 * Runs until Completed, pausing at each point once; at each pause `server` restarts. A run that
 * fails is run again, pausing at the points it did not reach.
 */
async function runWithRestarts(
  start: (env: Record<string, string>) => {
    child: ReturnType<typeof startFerry>['child'];
    done: Promise<CliResult>;
  },
  server: PostgresServer,
  points: FaultPoint[],
  onRestart: () => void = () => {},
): Promise<Outcome> {
  const outcome: Outcome = { continued: [], stopped: [] };
  let remaining = [...points];
  for (let attempt = 1; attempt <= points.length + 1; attempt++) {
    const run = start({ ...r.roles.env, FERRY_FAULT: remaining.join(','), FERRY_FAULT_SIGNAL: 'SIGSTOP' });
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

async function expectExactAndClean(notMigrated: string[] = []): Promise<void> {
  const { source, target } = await bothDigests(r.pair);
  for (const t of notMigrated) delete source[t];
  expect(target).toEqual(source);
  expect(await ferryLeftovers(r.pair)).toEqual([]);
  expect(await applicationCanWrite(r.roles)).toBe(true);
}

describe.each(['source', 'target'] as const)('the %s restarted at every phase and step', (side) => {
  it('Standard: runs on (or a second run completes) with the target exact', async () => {
    await resetTarget(r.pair);
    const file = r.manifest('std');
    const outcome = await runWithRestarts(
      (env) => startFerry(['run', '-f', file], env),
      r.pair[side],
      pausePoints('Standard'),
    );
    process.stdout.write(`Standard, ${side} restarted: ${JSON.stringify(outcome, null, 1)}\n`);
    // A chunk copy interrupted by the restart is retried within the run.
    expect(outcome.continued).toContain('transfer.chunk-committed');
    await expectExactAndClean();
  });

  it('DowntimeOptimized with writers: runs on (or a second run completes) with the target exact', async () => {
    await resetTarget(r.pair);
    const file = r.manifest('dto', {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      uptime: { tables: ['events', 'order*'] },
    });
    let writers: Writers = startWriters(r.roles.appUrl(), { sessions: 2, rate: 100 });
    const outcome = await runWithRestarts(
      (env) => runApproving(r, file, env),
      r.pair[side],
      pausePoints('DowntimeOptimized'),
      // A restarted source ends the application's sessions too: it reconnects (unless fenced off).
      () => {
        if (side !== 'source') return;
        void writers.stop();
        writers = startWriters(r.roles.appUrl(), { sessions: 2, rate: 100 });
      },
    );
    await writers.stop();
    process.stdout.write(`DowntimeOptimized, ${side} restarted: ${JSON.stringify(outcome, null, 1)}\n`);
    // The replay reconnects after a restart in uptime.
    expect(outcome.continued).toContain('replay.target-committed');
    await expectExactAndClean(['audit_log']);
  });
});
