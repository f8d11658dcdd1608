import { describe, expect, it } from 'vitest';
import { table } from '../../test/support/catalog.ts';
import type { PostLoadStep } from '../catalog/ddl.ts';
import type { Catalog } from '../catalog/types.ts';
import { foreignKeys } from './foreign-keys.ts';

const fk = (name: string, references: string | null) => ({
  name,
  kind: 'f' as const,
  definition: '...',
  references,
});
const catalog = {
  schema: 'app',
  tables: [
    table('orders', { constraints: [fk('orders_customer_fk', 'customers')] }),
    table('items', { constraints: [fk('items_order_fk', 'orders'), fk('items_sku_fk', 'products')] }),
    table('customers'),
    table('products'),
  ],
} as unknown as Catalog;
const step = (name: string, tbl: string): PostLoadStep => ({ name, table: tbl, sql: '' });
const steps = [
  step('pk:"orders"."orders_pkey"', 'orders'),
  step('fk:"orders"."orders_customer_fk"', 'orders'),
  step('fk:"items"."items_order_fk"', 'items'),
  step('fk:"items"."items_sku_fk"', 'items'),
];

describe('foreign keys in DowntimeOptimized', () => {
  it('only those whose two tables both move in uptime can be built in uptime', () => {
    const uptime = new Set(['orders', 'items', 'customers']);
    expect(foreignKeys(catalog, steps, uptime).map((f) => [f.name, f.uptime])).toEqual([
      ['orders_customer_fk', true],
      ['items_order_fk', true],
      ['items_sku_fk', false],
    ]);
    expect(foreignKeys(catalog, steps, new Set(['items'])).every((f) => !f.uptime)).toBe(true);
  });
});
