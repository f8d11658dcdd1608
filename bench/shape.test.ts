import { describe, expect, it } from 'vitest';
import { shapeLines } from './shape.ts';
import { differences } from './stats.ts';

const orders = { table: 'orders', rows: 1000, indexes: 2, unique: 1, primary: true, foreignKeys: 1 };
const tags = { table: 'tags', rows: 4, indexes: 0, unique: 0, primary: false, foreignKeys: 0 };

describe('the shape a migration from MariaDB must reproduce', () => {
  it('is one line per table and fact, sorted', () => {
    expect(shapeLines([tags, orders])).toEqual([
      'foreign keys orders 1',
      'foreign keys tags 0',
      'indexes orders 2 (unique 1, primary key)',
      'indexes tags 0 (unique 0)',
      'rows orders 1000',
      'rows tags 4',
    ]);
  });

  it('names what a result lacks and what it has beyond the source', () => {
    const expected = shapeLines([orders, tags]);
    expect(differences(expected, expected)).toEqual([]);
    expect(differences(expected, shapeLines([{ ...orders, rows: 999, foreignKeys: 0 }, tags]))).toEqual([
      'missing: foreign keys orders 1',
      'missing: rows orders 1000',
      'unexpected: foreign keys orders 0',
      'unexpected: rows orders 999',
    ]);
    expect(differences(expected, shapeLines([orders]))).toHaveLength(3);
  });
});
