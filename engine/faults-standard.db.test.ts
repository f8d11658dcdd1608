// Standard mode killed (SIGKILL, nothing cleans up) at every fault point, PostgreSQL 15 -> 18 as the
// least-privilege roles: the next run completes with the target exactly the source and nothing of
// ferry's left (with method Dump too, at the points of its files); and a fallback after a kill
// anywhere before PostProcessing leaves the source as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpFaultPointsOf, faultPointsOf, type FaultPoint } from './faults.ts';
import { ferry } from '../test/support/cli.ts';
import {
  applicationCanWrite,
  bothDigests,
  ferryLeftovers,
  resetTarget,
  expectResumed,
  startRehearsal,
  type Rehearsal,
} from '../test/support/rehearsal.ts';
import { snapshotDatabase } from '../test/support/snapshot.ts';

let r: Rehearsal;
let file: string;
const dumps = mkdtempSync(join(tmpdir(), 'ferry-faults-dump-'));

beforeAll(async () => {
  r = await startRehearsal();
  file = r.manifest('std');
});
afterAll(async () => r?.pair.stop());

const killedAt = async (point: FaultPoint, manifest = file) => {
  const killed = await ferry(['run', '-f', manifest], { ...r.roles.env, FERRY_FAULT: point });
  expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
};

/** Killed at `point`, the next run of `manifest` (of migration `name`) ends with the target exact and nothing of ferry's left. */
async function killedThenResumed(point: FaultPoint, manifest = file, name = 'std'): Promise<void> {
  await resetTarget(r.pair);
  await killedAt(point, manifest);
  const again = await ferry(['run', '-f', manifest], r.roles.env);
  expectResumed(point, again, name);
  const { source, target } = await bothDigests(r.pair);
  expect(target).toEqual(source);
  expect(await ferryLeftovers(r.pair)).toEqual([]);
  expect(await applicationCanWrite(r.roles)).toBe(true);
}

describe('Standard, killed at every fault point', () => {
  it.each(faultPointsOf('Standard'))('killed at %s, the next run ends with the target exact', (point) =>
    killedThenResumed(point),
  );
});

describe('Standard with method Dump, killed at every point of the files', () => {
  it.each(dumpFaultPointsOf('run'))(
    'killed at %s, the next run ends with the target exact and the files gone',
    async (point) => {
      const dumpDir = join(dumps, point);
      const dump = r.manifest('files', { transfer: { method: 'Dump', dumpDir } });
      await killedThenResumed(point, dump, 'files');
      expect(existsSync(dumpDir)).toBe(false);
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
