import { describe, expect, it } from 'vitest';
import type { StoredDump } from '../engine/dump/format.ts';
import type { Plan } from '../engine/plan/plan.ts';
import type { Migration } from './kube.ts';
import {
  claimSpaceProblem,
  connectedRoles,
  dumpVolume,
  exportRecord,
  groupsDone,
  importConfirmation,
  parseStorage,
  podDumpDir,
} from './system-move.ts';

const migration = (spec: Record<string, unknown>): Migration =>
  ({ metadata: { name: 'shop', namespace: 'ns', uid: 'uid-1' }, spec }) as unknown as Migration;

describe('the dump volume', () => {
  it('is the claim, and the directory the Migration name unless path says otherwise', () => {
    const v = dumpVolume(migration({ transfer: { method: 'Dump', volume: { claimName: 'ferry-dump' } } }));
    expect(v).toEqual({ claimName: 'ferry-dump', path: 'shop' });
    expect(podDumpDir(v!)).toBe('/var/lib/ferry/dump/shop');
    expect(
      dumpVolume(
        migration({ transfer: { method: 'Dump', volume: { claimName: 'd', path: 'moves/shop-1' } } }),
      ),
    ).toEqual({ claimName: 'd', path: 'moves/shop-1' });
    expect(dumpVolume(migration({ transfer: { method: 'Pipe' } }))).toBeUndefined();
  });

  it('a stage connects to its own side only', () => {
    expect(connectedRoles(migration({}))).toEqual(['source', 'target']);
    expect(connectedRoles(migration({ systemMove: { stage: 'Export' } }))).toEqual(['source']);
    expect(connectedRoles(migration({ systemMove: { stage: 'Import' } }))).toEqual(['target']);
  });
});

describe('storage quantities and the claim check', () => {
  it.each([
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['500M', 5e8],
    ['1e9', 1e9],
    ['1024', 1024],
    ['1m', undefined],
    ['lots', undefined],
  ])('%s', (q, bytes) => expect(parseStorage(q)).toBe(bytes));

  it('refuses a claim smaller than the estimate, naming both, and takes what it cannot read', () => {
    expect(claimSpaceProblem('ns/d', '1Gi', 4e9)).toBe(
      'spec.transfer.volume: PersistentVolumeClaim ns/d holds 1Gi, the export needs about 2.0 GB (4.0 GB of table heap x 0.5, zstd); use a larger claim',
    );
    expect(claimSpaceProblem('ns/d', '2Gi', 4e9)).toBeUndefined();
    expect(claimSpaceProblem('ns/d', undefined, 4e9)).toBeUndefined();
  });
});

describe("the Export's confirmation", () => {
  const exporting = (importCompleted?: string) =>
    migration({ systemMove: { stage: 'Export', ...(importCompleted && { importCompleted }) } });
  it('waits, accepts this export id, refuses another naming both', () => {
    expect(importConfirmation(exporting())).toEqual({ kind: 'waiting' });
    expect(importConfirmation(exporting('uid-1'))).toEqual({ kind: 'confirmed' });
    const refused = importConfirmation(exporting('uid-0'));
    expect(refused.kind).toBe('refused');
    expect(refused.kind === 'refused' && refused.message).toMatch(
      /^spec\.systemMove\.importCompleted: uid-0 is not this export's id \(uid-1, /,
    );
  });
});

const plan = {
  groups: [
    { id: 1, cost: 1, chunks: [{ id: 'a#1' }, { id: 'a#2' }] },
    { id: 2, cost: 1, chunks: [{ id: 'b' }] },
  ],
} as unknown as Plan;

describe('what the operator shows of a system move', () => {
  it('Export: a group is done when its Pod is', () => {
    expect(groupsDone(plan, new Set([2])).map((g) => [g.group, g.chunksDone, g.percent])).toEqual([
      [1, 0, 0],
      [2, 1, 100],
    ]);
  });

  it('Import: the export it continues, summed from the files', () => {
    const file = (rows: number, bytes: number) => ({ rows, bytes });
    const dump = {
      migration: { namespace: 'ns', name: 'shop', hash: 'h' },
      exportId: 'uid-1',
      source: 'db1:5432/shop',
      createdAt: '2025-01-01T00:00:00Z',
      exportedAt: '2025-01-01T00:05:00Z',
      plan,
      chunks: { 'a#1': file(10, 100), 'a#2': file(5, 50), b: file(1, 7) },
    } as unknown as StoredDump;
    expect(exportRecord(dump)).toEqual({
      migration: 'ns/shop',
      exportId: 'uid-1',
      source: 'db1:5432/shop',
      createdAt: '2025-01-01T00:00:00Z',
      exportedAt: '2025-01-01T00:05:00Z',
      chunks: 3,
      rows: 16,
      bytes: 157,
    });
  });
});
