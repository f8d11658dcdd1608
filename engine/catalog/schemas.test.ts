// A catalog of several schemas: merged from its retargeted parts, rendered per schema into each
// target schema, stage by stage, with step names that cannot collide across schemas.
import { describe, expect, it } from 'vitest';
import { targetPostLoadSteps, targetPreLoadDdl } from './ddl.ts';
import { mergeSchemas } from './merge.ts';
import { retargetPart, type OidHints } from './retarget.ts';
import { findTable, schemaParts, sourceName, tableKey, targetName } from './schemas.ts';
import { column as baseColumn, table as baseTable } from '../../test/support/catalog.ts';
import type { Catalog, Column, Table } from './types.ts';

const column = (name: string, over: Partial<Column> = {}): Column =>
  baseColumn(name, { type: 'bigint', typeOid: 20, notNull: true, ...over });

const table = (name: string, over: Partial<Table> = {}): Table =>
  baseTable(name, {
    columns: [column('id')],
    constraints: [{ name: `${name}_pkey`, kind: 'p', definition: 'PRIMARY KEY (id)', references: null }],
    ...over,
  });

const settings = {
  schemas: [
    { source: 'sales', target: 'sales_v2' },
    { source: 'billing', target: 'billing_v2' },
  ],
};
const map = new Map(settings.schemas.map((p) => [p.source, p.target]));
const noHints = (): OidHints => ({ types: new Map(), foreignKeys: new Map() });

function salesPart(): ReturnType<typeof retargetPart> {
  const fk = 'FOREIGN KEY (customer_id) REFERENCES ';
  const orders = table('orders', {
    columns: [
      column('id'),
      column('customer_id'),
      column('amount', { type: 'billing.money_t', typeOid: 20000, builtinType: false }),
      column('invoice_no', { default: "nextval('billing.invoice_no'::regclass)" }),
    ],
    constraints: [
      { name: 'orders_pkey', kind: 'p', definition: 'PRIMARY KEY (id)', references: null },
      { name: 'orders_customer_fk', kind: 'f', definition: `${fk}billing.customers(id)`, references: null },
    ],
  });
  const hints = noHints();
  hints.types.set('orders', new Map([['amount', { namespace: 'billing', head: '', prefix: 'billing.' }]]));
  hints.foreignKeys.set(
    'orders',
    new Map([
      ['orders_customer_fk', { namespace: 'billing', head: fk, prefix: 'billing.', table: 'customers' }],
    ]),
  );
  const part: Catalog = { schema: 'sales', serverVersion: 15, types: [], sequences: [], tables: [orders] };
  return retargetPart(part, hints, map);
}

function billingPart(): ReturnType<typeof retargetPart> {
  const part: Catalog = {
    schema: 'billing',
    serverVersion: 15,
    types: [{ name: 'money_t', definition: 'CREATE DOMAIN money_t AS numeric(12,2)' }],
    sequences: [
      { name: 'invoice_no', options: 'AS bigint', lastValue: '1041', isCalled: true, ownedBy: null },
    ],
    tables: [table('customers'), table('orders')],
  };
  return retargetPart(part, noHints(), map);
}

describe('a multi-schema catalog', () => {
  const catalog = mergeSchemas([salesPart(), billingPart()], map);

  it('keeps the source type for the source and the renamed one for the target; the FK names its table by key', () => {
    const orders = findTable(catalog, 'sales.orders');
    expect(orders.columns[2]).toMatchObject({ type: 'billing.money_t', targetType: '"billing_v2".money_t' });
    expect(orders.columns[3]!.default).toBe(`nextval('"billing_v2".invoice_no'::regclass)`);
    expect(orders.constraints[1]).toMatchObject({
      definition: 'FOREIGN KEY (customer_id) REFERENCES "billing_v2".customers(id)',
      references: 'billing.customers',
    });
    expect(catalog.creationOrder).toEqual(['billing', 'sales']);
    expect(catalog.unrewritable).toBeUndefined();
  });

  it('addresses tables of the same name in two schemas apart', () => {
    expect(catalog.tables.map(tableKey)).toEqual(['sales.orders', 'billing.customers', 'billing.orders']);
    const b = findTable(catalog, 'billing.orders');
    expect([sourceName(catalog, b), targetName(settings, catalog, b)]).toEqual([
      '"billing"."orders"',
      '"billing_v2"."orders"',
    ]);
    expect(schemaParts(catalog).map((p) => [p.schema, p.tables.map((t) => t.name)])).toEqual([
      ['sales', ['orders']],
      ['billing', ['customers', 'orders']],
    ]);
  });

  it('creates every schema stage by stage, the referenced schema first, each under its search_path', () => {
    const ddl = targetPreLoadDdl(catalog, settings);
    const at = (s: string) => ddl.findIndex((x) => x.startsWith(s));
    expect(ddl.slice(0, 4)).toEqual([
      'SET LOCAL search_path = "billing_v2"',
      'CREATE SCHEMA IF NOT EXISTS "billing_v2"',
      'SET LOCAL search_path = "sales_v2"',
      'CREATE SCHEMA IF NOT EXISTS "sales_v2"',
    ]);
    expect(at('CREATE DOMAIN "billing_v2"."money_t"')).toBeLessThan(at('CREATE TABLE "sales_v2"."orders"'));
    expect(ddl[at('CREATE TABLE "sales_v2"."orders"')]).toContain('"amount" "billing_v2".money_t NOT NULL');
  });

  it('runs each post-load step in its target schema, named with its source schema, the cross-schema FK kept', () => {
    const steps = targetPostLoadSteps(catalog, settings);
    expect(steps.map((s) => [s.name, s.schema, s.table])).toEqual([
      ['pk:"billing"."customers"."customers_pkey"', 'billing_v2', 'billing.customers'],
      ['pk:"billing"."orders"."orders_pkey"', 'billing_v2', 'billing.orders'],
      ['setval:"billing"."invoice_no"', 'billing_v2', null],
      ['pk:"sales"."orders"."orders_pkey"', 'sales_v2', 'sales.orders'],
      ['fk:"sales"."orders"."orders_customer_fk"', 'sales_v2', 'sales.orders'],
    ]);
    expect(steps[2]!.sql).toBe(`SELECT setval('"billing_v2"."invoice_no"', 1041, true)`);
  });

  it('lists what cannot be rewritten, naming the object', () => {
    const bad = salesPart().catalog;
    bad.tables[0]!.constraints.push({
      name: 'weird',
      kind: 'c',
      definition: 'CHECK ((billing.f(billing) > 0))',
      references: null,
    });
    const merged = mergeSchemas([retargetPart(bad, noHints(), map), billingPart()], map);
    expect(merged.unrewritable).toEqual([
      'constraint "weird" of table "orders" in schema "sales": names "billing" both as a schema and as something else (an alias, a table or a column), so `billing.` cannot be told apart; rename one of them',
    ]);
  });
});
