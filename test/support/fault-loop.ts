// DowntimeOptimized killed (SIGKILL, nothing cleans up) at fault points while the application writes
// as shop_app, PostgreSQL 15 -> 18 as the least-privilege roles: the next run, with the cutover
// approved by `ferry cutover` (again where needed), completes with the target exactly the source,
// nothing of ferry's left and the fence down. Shared by the test files that split the points between
// them (each file runs in a few minutes), with the memory pipe or the uptime bulk copy through files.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultPoint } from '../../engine/faults.ts';
import {
  applicationCanWrite,
  bothDigests,
  ferryLeftovers,
  resetTarget,
  expectResumed,
  runApproving,
  startRehearsal,
  type Rehearsal,
} from './rehearsal.ts';
import { startWriters } from './writers.ts';

/**
 * Kills at `points` with the memory pipe, then at `dumpPoints` with the uptime bulk copy through files
 * (method Dump, a directory of its own per point), on one pair of servers.
 */
export function describeKillsWithWriters(
  points: readonly FaultPoint[],
  dumpPoints: readonly FaultPoint[] = [],
): void {
  let r: Rehearsal;
  const dumps = mkdtempSync(join(tmpdir(), 'ferry-faults-dump-'));

  beforeAll(async () => {
    r = await startRehearsal();
  });
  afterAll(async () => r?.pair.stop());

  const killedThenResumed = async (point: FaultPoint, dumpDir?: string) => {
    // customers and products move in the downtime: the cutover copies them.
    const file = r.manifest('dto', {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      uptime: { tables: ['events', 'order*'] },
      ...(dumpDir && { transfer: { method: 'Dump', dumpDir } }),
    });
    await resetTarget(r.pair);
    const writers = startWriters(r.roles.appUrl(), { sessions: 2, rate: 100, seed: point.length });
    try {
      const killed = await runApproving(r, file, { ...r.roles.env, FERRY_FAULT: point }).done;
      expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
      const again = await runApproving(r, file, r.roles.env).done;
      expectResumed(point, again, 'dto');
    } finally {
      // The fence refused every writer at the cutover: none wrote after the migration completed.
      // Soft, so that a failed run's own error is the one shown.
      const w = await writers.stop();
      expect.soft(w.refused, 'writers refused by the fence').toBeGreaterThan(0);
    }
    const { source, target } = await bothDigests(r.pair);
    delete source.audit_log;
    expect(target).toEqual(source);
    expect(await ferryLeftovers(r.pair)).toEqual([]);
    expect(await applicationCanWrite(r.roles)).toBe(true);
    if (dumpDir) expect(existsSync(dumpDir)).toBe(false);
  };

  describe('DowntimeOptimized with writers, killed at a fault point', () => {
    it.each(points)('killed at %s, the next run ends with the target exact', (point) =>
      killedThenResumed(point),
    );
  });

  if (dumpPoints.length)
    describe('DowntimeOptimized with writers, the bulk copy through files, killed at a point of the files', () => {
      it.each(dumpPoints)(
        'killed at %s, the next run ends with the target exact and the files gone',
        (point) => killedThenResumed(point, join(dumps, point)),
      );
    });
}
