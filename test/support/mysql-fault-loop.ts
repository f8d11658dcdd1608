// DowntimeOptimized from MariaDB killed (SIGKILL, nothing cleans up) at fault points while the
// application writes as its own user and ferry runs as the migration user: the next run, approving
// the cutover with `ferry cutover` when it waits for it, completes with the target exactly the
// source (the extremes included), nothing of ferry's left on the MariaDB server and the source
// writable again. The MySQL twin of fault-loop.ts; test files split the points between them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultPoint } from '../../engine/faults.ts';
import { runApprovingWhenAsked } from './cli.ts';
import { resetTarget, type MysqlMigration } from './mysql-roles.ts';
import { CANONICAL, expectExactAndClean, startMysqlShop, startMysqlWriters } from './mysql-shop.ts';
import { expectResumed } from './rehearsal.ts';

export function describeMysqlKills(points: readonly FaultPoint[]): void {
  let m: MysqlMigration;

  beforeAll(async () => {
    m = await startMysqlShop();
  }, 180_000);
  afterAll(async () => m?.stop());

  const run = (file: string, env: Record<string, string>) => runApprovingWhenAsked(file, env).done;

  const killedThenResumed = async (point: FaultPoint) => {
    await resetTarget(m);
    const file = m.manifest('faults', {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit'] },
      transfer: { parallelism: 2, splitAbove: '64Ki', chunkRows: 1000 },
    });
    const writers = startMysqlWriters(m, 2);
    let w: Awaited<ReturnType<typeof writers.stop>>;
    try {
      const killed = await run(file, { ...m.env, FERRY_FAULT: point });
      expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
      const again = await run(file, m.env);
      expectResumed(point, again, 'faults');
    } finally {
      w = await writers.stop();
    }
    expect(w.error).toBeUndefined();
    expect(w.fenced, 'the cutover fenced the writers off').toBe(true);
    await expectExactAndClean(m, CANONICAL);
  };

  describe('DowntimeOptimized from MariaDB with writers, killed at a fault point', () => {
    it.each(points)('killed at %s, the next run ends with the target exact', (point) =>
      killedThenResumed(point),
    );
  });
}
