// The source (and, separately, the target) PostgreSQL restarted while a run is in each phase and at
// the steps that hold connections open (a chunk copy, a post-load build, a replay batch, the cutover):
// ferry pauses itself there (FERRY_FAULT with FERRY_FAULT_SIGNAL=SIGSTOP), the server is stopped and
// started again on the same data directory, and ferry continues. The run goes on by itself (the
// transfer retries its chunk, the replay reconnects, a lost snapshot is replaced by a new one) and
// the target ends exactly the source, with nothing of ferry's left and the fence down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFerry } from '../test/support/cli.ts';
import { pausePoints, runWithRestarts } from '../test/support/restarts.ts';
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

async function expectExactAndClean(notMigrated: string[] = []): Promise<void> {
  const { source, target } = await bothDigests(r.pair);
  for (const t of notMigrated) delete source[t];
  expect(target).toEqual(source);
  expect(await ferryLeftovers(r.pair)).toEqual([]);
  expect(await applicationCanWrite(r.roles)).toBe(true);
}

describe.each(['source', 'target'] as const)('the %s restarted at every phase and step', (side) => {
  it('Standard: runs on by itself with the target exact', async () => {
    await resetTarget(r.pair);
    const file = r.manifest('std');
    const outcome = await runWithRestarts(
      (env) => startFerry(['run', '-f', file], env),
      r.roles.env,
      r.pair[side],
      pausePoints('Standard'),
    );
    process.stdout.write(`Standard, ${side} restarted: ${JSON.stringify(outcome, null, 1)}\n`);
    // No restart stops a run: a lost session is retried, a lost snapshot replaced by a new one.
    expect(outcome.stopped).toEqual([]);
    // A chunk copy interrupted by the restart is retried within the run.
    expect(outcome.continued).toContain('transfer.chunk-committed');
    await expectExactAndClean();
  });

  it('DowntimeOptimized with writers: runs on by itself with the target exact', async () => {
    await resetTarget(r.pair);
    const file = r.manifest('dto', {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      uptime: { tables: ['events', 'order*'] },
    });
    let writers: Writers = startWriters(r.roles.appUrl(), { sessions: 2, rate: 100 });
    const outcome = await runWithRestarts(
      (env) => runApproving(r, file, env),
      r.roles.env,
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
    // No restart stops a run: a lost session is retried, a lost snapshot replaced by a new one.
    expect(outcome.stopped).toEqual([]);
    // The replay reconnects after a restart in uptime.
    expect(outcome.continued).toContain('replay.target-committed');
    await expectExactAndClean(['audit_log']);
  });
});
