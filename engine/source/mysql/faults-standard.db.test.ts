// Standard mode from MariaDB killed (SIGKILL, nothing cleans up) at every fault point, as the migration
// user, the application's tables owned by its own user: the next run completes with the target exactly
// the source (the extremes included) and nothing of ferry's left on the server; and a fallback after a
// kill anywhere before PostProcessing leaves the source byte for byte as it was (CHECKSUM TABLE) and
// writable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultPointsOf, type FaultPoint } from '../../faults.ts';
import { ferry } from '../../../test/support/cli.ts';
import { sourceState, resetTarget, type MysqlMigration } from '../../../test/support/mysql-roles.ts';
import {
  applicationWrites,
  AUDIT_CANONICAL,
  CANONICAL,
  expectExactAndClean,
  startMysqlShop,
} from '../../../test/support/mysql-shop.ts';
import { expectResumed } from '../../../test/support/rehearsal.ts';

let m: MysqlMigration;
let file: string;

beforeAll(async () => {
  m = await startMysqlShop();
  file = m.manifest('std', { transfer: { parallelism: 2, splitAbove: '64Ki', chunkRows: 1000 } });
}, 180_000);
afterAll(async () => m?.stop());

const killedAt = async (point: FaultPoint) => {
  const killed = await ferry(['run', '-f', file], { ...m.env, FERRY_FAULT: point });
  expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
};

describe('Standard from MariaDB, killed at every fault point', () => {
  it.each(faultPointsOf('Standard'))(
    'killed at %s, the next run ends with the target exact',
    async (point) => {
      await resetTarget(m);
      await killedAt(point);
      const again = await ferry(['run', '-f', file], m.env);
      expectResumed(point, again, 'std');
      await expectExactAndClean(m, { ...CANONICAL, ...AUDIT_CANONICAL });
    },
  );
});

describe('Standard from MariaDB, fallback after a kill before PostProcessing', () => {
  const points = faultPointsOf('Standard').filter(
    (p) => !p.startsWith('PostProcessing') && !p.startsWith('cleanup'),
  );
  it.each(points)('killed at %s, fallback leaves the source exactly as before', async (point) => {
    await resetTarget(m);
    const before = await sourceState(m);
    await killedAt(point);
    const fb = await ferry(['fallback', '-f', file], m.env);
    expect(fb.code, fb.stderr).toBe(0);
    const after = await sourceState(m);
    expect(after.sums).toEqual(before.sums);
    expect(after.leftovers).toEqual([]);
    await applicationWrites(m);
  });
});
