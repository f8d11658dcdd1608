import { describe, expect, it } from 'vitest';
import { catalogDifferences } from './diff.ts';
import type { Catalog } from './types.ts';

function sample(): Catalog {
  return {
    schema: 'app',
    serverVersion: 15,
    types: [{ name: 'mood', definition: `CREATE TYPE "mood" AS ENUM ('sad')` }],
    sequences: [{ name: 'seq', options: 'AS bigint', lastValue: '10', isCalled: true, ownedBy: null }],
    tables: [
      {
        name: 'Order',
        columns: [
          {
            name: 'select',
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
        key: ['select'],
        keyIsPrimary: true,
        keyName: 'Order_pkey',
        constraints: [
          { name: 'Order_pkey', kind: 'p', definition: 'PRIMARY KEY ("select")', references: null },
        ],
        indexes: [{ name: 'i', definition: 'CREATE INDEX i ON "Order" USING btree ("select")' }],
        identitySequences: [],
        rowEstimate: 5,
        totalBytes: 100,
        heapBytes: 50,
        pages: 1,
      },
    ],
  };
}

describe('catalogDifferences', () => {
  it('ignores schema name, server version, oids, sizes and statistics', () => {
    const b = sample();
    b.schema = 'app_copy';
    b.serverVersion = 18;
    b.tables[0]!.columns[0]!.typeOid = 99999;
    Object.assign(b.tables[0]!, { rowEstimate: 0, totalBytes: 0, heapBytes: 0, pages: 0 });
    expect(catalogDifferences(sample(), b)).toEqual([]);
  });

  it('names the object and field at fault', () => {
    const b = sample();
    b.tables[0]!.columns[0]!.type = 'character varying(10)';
    b.tables[0]!.indexes = [];
    b.tables[0]!.constraints.push({ name: 'extra', kind: 'c', definition: 'CHECK (true)', references: null });
    b.types = [];
    expect(catalogDifferences(sample(), b)).toEqual([
      'type "mood": missing',
      'table "Order" column "select": type: expected "text", actual "character varying(10)"',
      'table "Order" index "i": missing',
      'table "Order" constraint "extra": unexpected',
    ]);
  });

  it('compares sequence values only when asked', () => {
    const b = sample();
    b.sequences[0]!.lastValue = '1';
    expect(catalogDifferences(sample(), b)).toEqual([]);
    expect(catalogDifferences(sample(), b, { sequenceValues: true })).toEqual([
      'sequence "seq": lastValue: expected "10", actual "1"',
    ]);
  });

  it('sees a change of column order', () => {
    const a = sample();
    const second = { ...a.tables[0]!.columns[0]!, name: 'b' };
    a.tables[0]!.columns.push(second);
    const b = sample();
    b.tables[0]!.columns.unshift(second);
    expect(catalogDifferences(a, b)).toEqual([
      'table "Order": columns: expected "select, b", actual "b, select"',
    ]);
  });
});
