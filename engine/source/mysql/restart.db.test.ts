// The MariaDB source restarted while a run is in each phase and at the steps that hold connections
// open (a chunk copy, a post-load build, a replay batch, the cutover), as restart.db.test.ts does for
// PostgreSQL: ferry pauses itself there, the server stops and starts again on the same data
// directory, and ferry continues. The run goes on by itself, and the target ends exactly the source
// (the extremes included), with nothing of ferry's left on the server and the application writing
// again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovingWhenAsked, startFerry } from '../../../test/support/cli.ts';
import { resetTarget, type MysqlMigration } from '../../../test/support/mysql-roles.ts';
import {
  AUDIT_CANONICAL,
  CANONICAL,
  expectExactAndClean,
  startMysqlShop,
  startMysqlWriters,
} from '../../../test/support/mysql-shop.ts';
import { pausePoints, runWithRestarts } from '../../../test/support/restarts.ts';

let m: MysqlMigration;

beforeAll(async () => {
  m = await startMysqlShop();
}, 180_000);
afterAll(async () => m?.stop());

const TRANSFER = { parallelism: 2, splitAbove: '64Ki', chunkRows: 1000 };

describe('the MariaDB source restarted at every phase and step', () => {
  it('Standard: runs on by itself with the target exact', async () => {
    await resetTarget(m);
    const file = m.manifest('std', { transfer: TRANSFER });
    const outcome = await runWithRestarts(
      (env) => startFerry(['run', '-f', file], env),
      m.env,
      m.pair.my,
      pausePoints('Standard'),
    );
    process.stdout.write(`Standard, MariaDB restarted: ${JSON.stringify(outcome, null, 1)}\n`);
    // No restart stops a run: a lost session is retried, a lost snapshot replaced by a new one.
    expect(outcome.stopped).toEqual([]);
    // A chunk copy interrupted by the restart is retried within the run.
    expect(outcome.continued).toContain('transfer.chunk-committed');
    await expectExactAndClean(m, { ...CANONICAL, ...AUDIT_CANONICAL });
  });

  it('DowntimeOptimized with writers: runs on by itself with the target exact', async () => {
    await resetTarget(m);
    const file = m.manifest('dto', {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit'] },
      transfer: TRANSFER,
    });
    // A restarted server ends the application's sessions too: the writers connect again.
    const writers = startMysqlWriters(m, 2);
    const outcome = await runWithRestarts(
      (env) => runApprovingWhenAsked(file, env),
      m.env,
      m.pair.my,
      pausePoints('DowntimeOptimized'),
    );
    const w = await writers.stop();
    process.stdout.write(`DowntimeOptimized, MariaDB restarted: ${JSON.stringify(outcome, null, 1)}\n`);
    // No restart stops a run: a lost session is retried, a lost snapshot replaced by a new one.
    expect(outcome.stopped).toEqual([]);
    expect(w.error).toBeUndefined();
    expect(w.fenced, 'the cutover fenced the writers off').toBe(true);
    // The replay reconnects after a restart in uptime.
    expect(outcome.continued).toContain('replay.target-committed');
    await expectExactAndClean(m, CANONICAL);
  });
});
