// Standard mode killed (SIGKILL, nothing cleans up) at every fault point, PostgreSQL 15 -> 18 as the
// least-privilege roles: the next run completes with the target exactly the source and nothing of
// ferry's left; and a fallback after a kill anywhere before PostProcessing leaves the source as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AFTER_COMPLETION, faultPointsOf, type FaultPoint } from './faults.ts';
import { ferry } from '../test/support/cli.ts';
import {
  applicationCanWrite,
  bothDigests,
  ferryLeftovers,
  resetTarget,
  TARGET_TAKEN,
  startRehearsal,
  type Rehearsal,
} from '../test/support/rehearsal.ts';
import { snapshotDatabase } from '../test/support/snapshot.ts';

let r: Rehearsal;
let file: string;

beforeAll(async () => {
  r = await startRehearsal();
  file = r.manifest('std');
});
afterAll(async () => r?.pair.stop());

const killedAt = async (point: FaultPoint) => {
  const killed = await ferry(['run', '-f', file], { ...r.roles.env, FERRY_FAULT: point });
  expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
};

describe('Standard, killed at every fault point', () => {
  it.each(faultPointsOf('Standard'))(
    'killed at %s, the next run ends with the target exact',
    async (point) => {
      await resetTarget(r.pair);
      await killedAt(point);
      const again = await ferry(['run', '-f', file], r.roles.env);
      if (AFTER_COMPLETION.includes(point)) {
        // Nothing left to resume: the new run finds the target holding the tables and changes nothing.
        expect(again.code).toBe(1);
        expect(again.stderr).toMatch(TARGET_TAKEN);
      } else {
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toMatch(/Migration std Completed/);
      }
      const { source, target } = await bothDigests(r.pair);
      expect(target).toEqual(source);
      expect(await ferryLeftovers(r.pair)).toEqual([]);
      expect(await applicationCanWrite(r.roles)).toBe(true);
    },
  );
});

describe('Standard, fallback after a kill before PostProcessing', () => {
  const points = faultPointsOf('Standard').filter(
    (p) => !p.startsWith('PostProcessing') && !p.startsWith('cleanup'),
  );
  it.each(points)('killed at %s, fallback leaves the source exactly as before', async (point) => {
    await resetTarget(r.pair);
    const before = await snapshotDatabase(r.pair.source.url('shop'));
    await killedAt(point);
    const fb = await ferry(['fallback', '-f', file], r.roles.env);
    expect(fb.code, fb.stderr).toBe(0);
    expect(await snapshotDatabase(r.pair.source.url('shop'))).toEqual(before);
    expect(await ferryLeftovers(r.pair)).toEqual([]);
    expect(await applicationCanWrite(r.roles)).toBe(true);
  });
});
