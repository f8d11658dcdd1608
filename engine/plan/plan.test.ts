import { describe, expect, it } from 'vitest';
import { column, table as baseTable } from '../../test/support/catalog.ts';
import type { Table } from '../catalog/types.ts';
import {
  chunkCount,
  chunksFrom,
  ctidBoundaries,
  integerBoundaries,
  rangePredicate,
  sampleBoundaries,
  splitBy,
} from './chunks.ts';
import { costFromReport, planGroups } from './groups.ts';
import { selectTables } from './select.ts';

// A bigint-keyed table of about 80 kB.
const table = (name: string, over: Partial<Table> = {}): Table =>
  baseTable(name, {
    columns: [column('id', { type: 'bigint', typeOid: 20, notNull: true })],
    rowEstimate: 1000,
    totalBytes: 100_000,
    heapBytes: 80_000,
    pages: 10,
    ...over,
  });

describe('table selection', () => {
  const names = ['orders', 'order_items', 'customers', 'Audit Log'];
  it('applies include then exclude globs', () => {
    expect(selectTables(names, ['order*'], ['order_items'])).toEqual(['orders']);
    expect(selectTables(names, ['*'], [])).toEqual(names);
  });
  it('names an include pattern that matches nothing', () => {
    expect(() => selectTables(names, ['ordrs'], [])).toThrow(
      /spec\.tables\.include: pattern "ordrs" matches no table/,
    );
  });
});

describe('chunking', () => {
  it('keeps small tables whole and splits large ones by rows and size', () => {
    expect(chunkCount(table('t'), 1e6, 500_000)).toBe(1);
    expect(chunkCount(table('t', { heapBytes: 10e6, rowEstimate: 2_000_000 }), 1e6, 500_000)).toBe(10);
  });
  it('splits integer keys evenly and covers every key with open-ended outer ranges', () => {
    const b = integerBoundaries(1n, 100n, 4);
    expect(b).toEqual(['26', '51', '76']);
    const chunks = chunksFrom(
      table('t'),
      { kind: 'key', column: 'id', type: 'bigint', integer: true, portable: true },
      b,
    );
    expect(chunks.map((c) => rangePredicate(c.range))).toEqual([
      `WHERE "id" < '26'`,
      `WHERE "id" >= '26' AND "id" < '51'`,
      `WHERE "id" >= '51' AND "id" < '76'`,
      `WHERE "id" >= '76'`,
    ]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(4);
  });
  it('never produces empty or repeated boundaries', () => {
    expect(integerBoundaries(5n, 6n, 8)).toEqual(['6']);
    expect(sampleBoundaries(['a', 'a', 'a', 'b', 'c', 'c'], 3)).toEqual(['c']);
    expect(sampleBoundaries(['a', 'b', 'c', 'd', 'e', 'f'], 3)).toEqual(['c', 'e']);
    expect(ctidBoundaries(3, 10)).toEqual([1, 2]);
  });
  it('splits by ctid when the key does not order the same everywhere', () => {
    const t = table('t', {
      columns: [
        {
          name: 'code',
          type: 'text',
          typeOid: 25,
          builtinType: true,
          notNull: true,
          default: null,
          identity: '',
          generated: null,
          collation: null,
        },
      ],
      key: ['code'],
    });
    expect(splitBy(t)).toEqual({ kind: 'ctid' });
    expect(splitBy(t, true)).toEqual({
      kind: 'key',
      column: 'code',
      type: 'text',
      integer: false,
      portable: false,
    });
    expect(splitBy(table('u', { key: [] }))).toEqual({ kind: 'ctid' });
    expect(rangePredicate({ kind: 'ctid', loPage: 10, hiPage: 20 })).toBe(
      `WHERE ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid`,
    );
  });
});

describe('table groups', () => {
  it('balances chunks largest first', () => {
    const chunks = [50, 40, 30, 20, 10].map((b, i) => ({
      id: `c${i}`,
      table: `t${i}`,
      range: null,
      estRows: b,
      estBytes: b * 1e6,
    }));
    const groups = planGroups(chunks, 2);
    expect(groups.map((g) => g.chunks.map((c) => c.id))).toEqual([
      ['c0', 'c3', 'c4'],
      ['c1', 'c2'],
    ]);
    expect(groups.map((g) => g.cost)).toEqual([80e6, 70e6]);
  });
  it('never makes more groups than chunks', () => {
    expect(planGroups([{ id: 'a', table: 'a', range: null, estRows: 1, estBytes: 1 }], 8)).toHaveLength(1);
  });
  it('uses an earlier run report: measured seconds beat size estimates', () => {
    const chunks = [
      { id: 'big', table: 'big', range: null, estRows: 1, estBytes: 100e6 },
      { id: 'slow', table: 'slow', range: null, estRows: 1, estBytes: 10e6 },
    ];
    const cost = costFromReport(
      {
        tables: [
          { table: 'big', rows: 1, bytes: 100e6, seconds: 10 },
          { table: 'slow', rows: 1, bytes: 10e6, seconds: 60 },
        ],
      },
      (t) => (t === 'big' ? 100e6 : 10e6),
    );
    expect(cost(chunks[1]!)).toBeGreaterThan(cost(chunks[0]!));
  });
});
