// The bulk copy's shared snapshot lives in one source session. When that session ends (a restarted
// server, an administrator, a dropped connection), no chunk can join the snapshot again: `ferry run`
// resumes in a new snapshot by itself, as the operator's next pass does, and ends exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../hack/local-pair.ts';
import { stopped, type CliResult } from '../../test/support/cli.ts';
import {
  applicationCanWrite,
  bothDigests,
  ferryLeftovers,
  runApproving,
  startRehearsal,
  type Rehearsal,
} from '../../test/support/rehearsal.ts';
import { startWriters } from '../../test/support/writers.ts';

let r: Rehearsal;

beforeAll(async () => {
  r = await startRehearsal();
});
afterAll(async () => r?.pair.stop());

describe('the bulk copy’s snapshot lost', () => {
  it('DowntimeOptimized: the run resumes in a new snapshot and ends exact, the application writing', async () => {
    const file = r.manifest('dto', {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      uptime: { tables: ['events', 'order*'] },
    });
    const writers = startWriters(r.roles.appUrl(), { sessions: 2, rate: 100 });
    // Paused the first time the snapshot is exported, before any chunk joins it (not again in the resumed run).
    const run = runApproving(r, file, {
      ...r.roles.env,
      FERRY_FAULT: 'uptime.snapshot-exported:1',
      FERRY_FAULT_SIGNAL: 'SIGSTOP',
    });
    let ended: CliResult | undefined;
    void run.done.then((x) => (ended = x));
    while (!(
      stopped(run.child.pid!) && run.stderr().includes('fault point uptime.snapshot-exported reached')
    )) {
      expect(ended, 'the run ended before the snapshot was exported').toBeUndefined();
      await new Promise((res) => setTimeout(res, 50));
    }
    const terminated = await query<{ n: number }>(
      r.pair.source,
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'ferry:dto:snapshot'`,
    );
    expect(terminated[0]!.n).toBe(1);
    run.child.kill('SIGCONT');
    const result = await run.done;
    await writers.stop();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/consistent snapshot is gone \(invalid snapshot identifier/);
    expect(result.stderr).toContain('resuming in a new snapshot');
    const { source, target } = await bothDigests(r.pair);
    delete source.audit_log;
    expect(target).toEqual(source);
    expect(await ferryLeftovers(r.pair)).toEqual([]);
    expect(await applicationCanWrite(r.roles)).toBe(true);
  });
});
