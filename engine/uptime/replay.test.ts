import { describe, expect, it } from 'vitest';
import { column, table as baseTable } from '../../test/support/catalog.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import { rowsForKeysSql } from '../source/postgres/replay.ts';
import { deleteKeysSql, planBatch, subtree, truncateSql } from './replay.ts';

// Keyed by (id, at): a key whose text reads back only as its own type.
const table = (name: string, extra: Partial<Table> = {}): Table =>
  baseTable(name, {
    columns: [
      column('id', { type: 'bigint', notNull: true }),
      column('at', { type: 'timestamp with time zone', notNull: true }),
      column('v', { type: 'text' }),
    ],
    key: ['id', 'at'],
    ...extra,
  });
// orders: a partitioned root with a sub-partitioned partition; items: plain; base/child: inheritance.
const catalog: Catalog = {
  schema: 'app',
  serverVersion: 15,
  types: [],
  sequences: [],
  tables: [
    table('orders', { partitionBy: 'RANGE (at)' }),
    table('orders_2025', { partitionOf: { parent: 'orders', bound: 'FOR VALUES FROM (...) TO (...)' } }),
    table('orders_2026', {
      partitionOf: { parent: 'orders', bound: 'FOR VALUES FROM (...) TO (...)' },
      partitionBy: 'LIST (v)',
    }),
    table('orders_2026_a', { partitionOf: { parent: 'orders_2026', bound: "FOR VALUES IN ('a')" } }),
    table('items'),
    table('base'),
    table('child', { inherits: ['base'] }),
  ],
};
const row = (tbl: string, truncated: boolean, keyed: boolean) => ({ tbl, truncated, keyed });

describe('a replay batch', () => {
  it('finds partitions below a table', () => {
    expect(subtree(catalog, 'orders')).toEqual(['orders', 'orders_2025', 'orders_2026', 'orders_2026_a']);
    expect(subtree(catalog, 'items')).toEqual(['items']);
  });

  it('re-reads logged keys, and copies truncated relations whole', () => {
    const plan = planBatch(catalog, [row('items', false, true), row('base', true, false)]);
    expect(plan.keyed).toEqual(['items']);
    expect(plan.whole).toEqual(['base']);
    expect(plan.skip.get('items')).toEqual([]);
  });

  it('a partition truncated alone is copied whole; the root re-reads its keys elsewhere', () => {
    const plan = planBatch(catalog, [row('orders', false, true), row('orders_2026', true, false)]);
    expect(plan.keyed).toEqual(['orders']);
    expect(plan.whole).toEqual(['orders_2026']);
    expect(plan.skip.get('orders')).toEqual(['orders_2026', 'orders_2026_a']);
  });

  it('a truncated root is copied whole, its keys and its truncated partitions with it', () => {
    const plan = planBatch(catalog, [
      row('orders', true, true),
      row('orders_2025', true, false),
      row('items', true, true),
    ]);
    expect(plan.keyed).toEqual([]);
    expect(plan.whole).toEqual(['orders', 'items']);
  });

  it('an inheritance child is a table of its own', () => {
    const plan = planBatch(catalog, [row('base', true, true), row('child', false, true)]);
    expect(plan.keyed).toEqual(['child']);
    expect(plan.whole).toEqual(['base']);
  });

  it('refuses a log that names a table outside the catalog', () => {
    expect(() => planBatch(catalog, [row('ghost', false, true)])).toThrow(/table ghost, which is not in/);
  });
});

describe('replay SQL', () => {
  const orders = catalog.tables[0]!;
  const items = catalog.tables[4]!;
  it('casts each logged key text back to its column type', () => {
    expect(deleteKeysSql(items, 'tgt', 'ferry_m')).toBe(
      'DELETE FROM ONLY "tgt"."items" x USING "ferry_m"."batch_keys" k WHERE k.tbl = \'items\' AND x."id" = (k.key[1])::bigint AND x."at" = (k.key[2])::timestamp with time zone',
    );
  });

  it('reads a root through its partitions, minus relations copied whole', () => {
    const sql = rowsForKeysSql(orders, 'app', 'ferry_m', ['orders_2026']);
    expect(sql).toContain('FROM "app"."orders" x WHERE (x."id", x."at") IN (SELECT (k.key[1])::bigint');
    expect(sql).toContain(`x.tableoid <> ALL (ARRAY['"app"."orders_2026"'::regclass])`);
    expect(sql).toMatch(/TO STDOUT \(FORMAT binary\)$/);
  });

  it('truncates a partitioned table with its partitions, anything else ONLY', () => {
    expect(truncateSql(orders, 's')).toBe('TRUNCATE "s"."orders"');
    expect(truncateSql(items, 's')).toBe('TRUNCATE ONLY "s"."items"');
  });
});
