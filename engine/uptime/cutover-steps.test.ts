import { describe, expect, it } from 'vitest';
import type { PostLoadStep } from '../catalog/ddl.ts';
import { builtInUptime, undoneByUndo } from './cutover-steps.ts';

const step = (name: string, table: string | null = null): PostLoadStep => ({ name, table, sql: '' });
const uptime = new Set(['orders', 'sales.orders']);

describe('what a DowntimeOptimized migration builds in uptime', () => {
  it('builds the uptime tables keys and indexes, not the downtime tables', () => {
    expect(builtInUptime(step('pk:"orders"."orders_pkey"', 'orders'), uptime)).toBe(true);
    expect(builtInUptime(step('index:"by_day"', 'products'), uptime)).toBe(false);
  });

  it('builds views, grants and comments on what exists by then; leaves what changes the replay or must be fresh', () => {
    for (const name of [
      'view:"v"',
      'matview:"mv"',
      'mvindex:"mv_idx"',
      'grant:TABLE orders',
      'comment:COLUMN "orders"."id"',
      'comment:"sales".TABLE orders',
    ])
      expect(builtInUptime(step(name), uptime), name).toBe(true);
    for (const name of [
      'fk:"orders"."orders_customer_fk"',
      'setval:"ticket_no"',
      'refresh:"mv"',
      'trigger:"orders"."audit"',
      'rls:"orders"',
      'policy:"orders"."mine"',
      'comment:TRIGGER audit ON orders',
      'comment:"sales".CONSTRAINT orders_customer_fk ON orders',
      'comment:INDEX by_day',
      'comment:POLICY mine ON orders',
    ])
      expect(builtInUptime(step(name, name.startsWith('fk') ? 'orders' : null), uptime), name).toBe(false);
  });

  it('a failed cutover takes back what would change the replay, and the comments on it', () => {
    for (const name of [
      'fk:"sales"."orders"."fk"',
      'setval:"s"',
      'trigger:"t"."x"',
      'policy:"t"."p"',
      'rls:"t"',
      'refresh:"mv"',
      'comment:TRIGGER x ON t',
      'comment:"sales".CONSTRAINT fk ON orders',
    ])
      expect(undoneByUndo(name), name).toBe(true);
    for (const name of ['view:"v"', 'grant:TABLE t', 'pk:"t"."t_pkey"', 'comment:TABLE t', 'comment:INDEX i'])
      expect(undoneByUndo(name), name).toBe(false);
  });
});
