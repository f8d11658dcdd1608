import { describe, expect, it } from 'vitest';
import { dumpFaultPointsOf, FAULT_POINTS, faultPointsOf, parseFault } from './faults.ts';

describe('FERRY_FAULT', () => {
  it('names a point, optionally the n-th time it is reached', () => {
    expect(parseFault(undefined)).toEqual([]);
    expect(parseFault('Checks.start')).toEqual([{ point: 'Checks.start', nth: 1 }]);
    expect(parseFault('transfer.chunk-committed:3, fence.raised')).toEqual([
      { point: 'transfer.chunk-committed', nth: 3 },
      { point: 'fence.raised', nth: 1 },
    ]);
  });

  it('refuses an unknown point or count, listing the points', () => {
    expect(() => parseFault('Check.start')).toThrow(
      /unknown fault point "Check.start" \(one of Preparation.start, /,
    );
    expect(() => parseFault('Checks.start:0')).toThrow(/count must be 1 or more/);
  });

  it("takes the Dump method's points, which a run with the pipe does not reach", () => {
    expect(parseFault('dump.chunk-exported:2,dump.chunk-imported')).toEqual([
      { point: 'dump.chunk-exported', nth: 2 },
      { point: 'dump.chunk-imported', nth: 1 },
    ]);
    expect(faultPointsOf('Standard')).not.toContain('dump.chunk-exported');
  });

  it('lists the Dump points each command reaches', () => {
    expect(dumpFaultPointsOf('run')).toEqual(['dump.chunk-exported', 'dump.chunk-imported']);
    expect(dumpFaultPointsOf('export')).toEqual(['dump.chunk-exported', 'dump.sealed']);
    expect(dumpFaultPointsOf('import')).toEqual(['dump.chunk-imported', 'dump.completion-written']);
  });

  it('lists the points each mode reaches', () => {
    expect(faultPointsOf('Standard')).not.toContain('replay.target-committed');
    expect(faultPointsOf('Standard')).toContain('validate.unit-done');
    // DowntimeOptimized validates in its cutover, not table by table.
    expect(faultPointsOf('DowntimeOptimized')).toEqual(
      Object.keys(FAULT_POINTS).filter((p) => p !== 'validate.unit-done'),
    );
  });
});
