// Several schemas in one Migration, end to end on real servers (PostgreSQL 15 -> 18) as the
// least-privilege roles: `sales` refers to `billing` through a foreign key, a view joining both, a
// default drawing from billing's sequence and columns of billing's domain; both schemas are renamed
// on the target and every reference must follow. Standard and DowntimeOptimized (the application
// writing to both schemas in uptime), compared exactly; fallback drops both target schemas.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUpRoles, type Roles } from '../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { ferry, startFerry } from '../test/support/cli.ts';
import { schemaDigests, snapshotDatabase } from '../test/support/snapshot.ts';

let pair: LocalPair;
let roles: Roles;
const dir = mkdtempSync(join(tmpdir(), 'ferry-schemas-'));
const RENAMES = { sales: 'sales_v2', billing: 'billing_v2' };

const SCHEMA_SQL = `
  CREATE DOMAIN billing.money_t AS numeric(12,2) CHECK (VALUE >= 0);
  CREATE SEQUENCE billing.invoice_no START 1000;
  CREATE TABLE billing.customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    credit billing.money_t NOT NULL DEFAULT 0);
  CREATE TABLE sales.orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES billing.customers (id) ON DELETE CASCADE,
    invoice_no bigint NOT NULL DEFAULT nextval('billing.invoice_no'),
    amount billing.money_t NOT NULL,
    parts billing.money_t[],
    note text CHECK (note <> ''));
  CREATE INDEX orders_by_customer ON sales.orders (customer_id);
  CREATE FUNCTION sales.discounted(a billing.money_t) RETURNS billing.money_t
    LANGUAGE sql IMMUTABLE AS $$ SELECT (a * 0.9)::numeric(12,2) $$;
  GRANT EXECUTE ON FUNCTION sales.discounted(billing.money_t) TO shop_reporting;
  ALTER TABLE sales.orders ADD CONSTRAINT discount_below CHECK (sales.discounted(amount) <= amount);
  CREATE VIEW sales.customer_totals AS
    SELECT c.id, c.name, sum(o.amount)::billing.money_t AS total
      FROM billing.customers c JOIN sales.orders o ON o.customer_id = c.id GROUP BY c.id, c.name;
  INSERT INTO billing.customers (name, credit) SELECT 'customer ' || g, g % 100 FROM generate_series(1, 300) g;
  INSERT INTO sales.orders (customer_id, amount, parts, note)
    SELECT 1 + g % 300, (g % 997) / 7.0, ARRAY[(g % 13)::numeric, 1.5]::billing.money_t[], 'order ' || g
      FROM generate_series(1, 20000) g;`;

function manifest(name: string, spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    roles.manifest(name, {
      schemas: Object.entries(RENAMES).map(([source, target]) => ({ source, target })),
      transfer: { parallelism: 2, splitAbove: '256Ki', chunkRows: 3000 },
      ...spec,
    }),
  );
  return file;
}

async function resetTarget(): Promise<void> {
  for (const r of await query<{ n: string }>(
    pair.target,
    "SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'ferry\\_%' OR nspname LIKE '%\\_v2'",
  ))
    await query(pair.target, `DROP SCHEMA "${r.n}" CASCADE`);
}

async function expectEqual(): Promise<void> {
  for (const [source, target] of Object.entries(RENAMES)) {
    const [src, dst] = await Promise.all([
      schemaDigests(pair.source.url('shop'), source),
      schemaDigests(pair.target.url('shop'), target),
    ]);
    expect(Object.keys(dst).sort(), target).toEqual(Object.keys(src).sort());
    for (const [t, d] of Object.entries(src)) expect(dst[t], `${target}.${t}`).toEqual(d);
  }
}

/** Every reference from sales_v2 into the other schema names billing_v2, as PostgreSQL itself renders it. */
async function expectRetargeted(): Promise<void> {
  const one = async (sql: string) => Object.values((await query(pair.target, sql))[0]!)[0];
  expect(
    await one(
      "SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = 'sales_v2.orders'::regclass AND contype = 'f'",
    ),
  ).toBe('billing_v2.customers');
  expect(
    await one(
      "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'sales_v2.orders'::regclass AND a.attname = 'invoice_no'",
    ),
  ).toBe("nextval('billing_v2.invoice_no'::regclass)");
  expect(
    await one(
      "SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'sales_v2.orders'::regclass AND attname IN ('amount', 'parts')",
    ),
  ).toBe('billing_v2.money_t, billing_v2.money_t[]');
  expect(
    await one(
      "SELECT pg_get_function_identity_arguments(p.oid) || ' -> ' || format_type(p.prorettype, NULL) FROM pg_proc p WHERE p.oid = 'sales_v2.discounted'::regproc",
    ),
  ).toBe('a billing_v2.money_t -> billing_v2.money_t');
  expect(
    await one(
      "SELECT has_function_privilege('shop_reporting', 'sales_v2.discounted(billing_v2.money_t)', 'EXECUTE')",
    ),
  ).toBe(true);
  const view = String(await one("SELECT pg_get_viewdef('sales_v2.customer_totals'::regclass)"));
  expect(view).toMatch(/billing_v2\.customers/);
  expect(view).not.toMatch(/\bbilling\./);
  // The view reads the same on both sides.
  const totals = async (c: LocalPair['source'], schema: string) =>
    query(c, `SELECT id, name, total::text FROM ${schema}.customer_totals ORDER BY id`);
  expect(await totals(pair.target, 'sales_v2')).toEqual(await totals(pair.source, 'sales'));
  // The target continues billing's sequence where the source stands.
  const [src] = await query<{ v: string }>(
    pair.source,
    'SELECT last_value::text AS v FROM billing.invoice_no',
  );
  const [dst] = await query<{ v: string }>(
    pair.target,
    'SELECT last_value::text AS v FROM billing_v2.invoice_no',
  );
  expect(dst!.v).toBe(src!.v);
}

/** The application writing to both schemas until stopped or fenced off. */
function startApp(): { stop(): Promise<{ committed: number; refused: number }> } {
  let running = true;
  let committed = 0;
  let refused = 0;
  const loop = (async () => {
    const c = new pg.Client({ connectionString: roles.appUrl() });
    await c.connect();
    try {
      for (let i = 0; running; i++) {
        try {
          await c.query('BEGIN');
          const { rows } = await c.query<{ id: string }>(
            `INSERT INTO billing.customers (name, credit) VALUES ('live ${i}', ${i % 50}) RETURNING id::text`,
          );
          await c.query(
            `INSERT INTO sales.orders (customer_id, amount, parts) VALUES (${rows[0]!.id}, ${i % 300}.25, ARRAY[1, ${i % 7}]::billing.money_t[])`,
          );
          await c.query(`UPDATE billing.customers SET credit = credit + 1 WHERE id = ${1 + (i % 300)}`);
          await c.query(`DELETE FROM sales.orders WHERE id = ${1 + ((i * 37) % 20000)}`);
          await c.query('COMMIT');
          committed++;
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          if ((err as { code?: string }).code !== '25006') throw err;
          refused++;
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await c.end();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { committed, refused };
    },
  };
}

beforeAll(async () => {
  pair = await startLocalPair();
  roles = await setUpRoles(pair, {
    schemas: ['sales', 'billing'],
    populate: async (c) => void (await c.query(SCHEMA_SQL)),
  });
});
afterAll(async () => pair?.stop());

beforeEach(async () => {
  await ferry(['fallback', '-f', manifest('multi')], roles.env);
  await resetTarget();
});

describe('several schemas, renamed, PostgreSQL 15 -> 18, as the least-privilege roles', () => {
  it('Standard: both schemas migrate, every cross-schema reference follows the renames, exactly equal', async () => {
    const r = await ferry(['run', '-f', manifest('multi')], roles.env);
    expect(r.code, r.stderr).toBe(0);
    await expectEqual();
    await expectRetargeted();
    // A new order on the target draws its invoice number from billing_v2's sequence.
    const [row] = await query<{ n: string }>(
      pair.target,
      'INSERT INTO sales_v2.orders (customer_id, amount) VALUES (1, 1) RETURNING invoice_no::text AS n',
    );
    const [src] = await query<{ v: string }>(
      pair.source,
      'SELECT last_value::text AS v FROM billing.invoice_no',
    );
    expect(BigInt(row!.n)).toBe(BigInt(src!.v) + 1n);
  });

  it('DowntimeOptimized: the application writes to both schemas in uptime; cutover; exactly equal', async () => {
    const app = startApp();
    const file = manifest('multi', { mode: 'DowntimeOptimized' });
    const run = startFerry(['run', '-f', file], roles.env);
    for (let i = 0; ; i++) {
      const rows = await query(
        pair.target,
        "SELECT 1 FROM pg_tables WHERE schemaname = 'ferry_multi' AND tablename = 'replayed'",
      );
      if (rows.length && (await query(pair.target, 'SELECT 1 FROM ferry_multi.replayed LIMIT 1')).length)
        break;
      if (i > 600) throw new Error('the replay never applied changes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const approve = await ferry(['cutover', '-f', file], roles.env);
    expect(approve.code, approve.stderr).toBe(0);
    const done = await run.done;
    const w = await app.stop();
    expect(done.code, done.stderr).toBe(0);
    expect(w.committed).toBeGreaterThan(20);
    expect(w.refused).toBe(1);
    await expectEqual();
    await expectRetargeted();
    const after = await snapshotDatabase(pair.source.url('shop'));
    expect(after.triggers).toEqual([]);
    expect(after.objects.filter((o) => o.includes('ferry'))).toEqual([]);
  });

  it('refuses at Checks a routine body that names a renamed schema, naming it, and changes nothing', async () => {
    const app = new pg.Client({ connectionString: roles.appUrl() });
    await app.connect();
    await app.query(`CREATE FUNCTION sales.open_orders() RETURNS bigint LANGUAGE plpgsql
      AS $$ BEGIN RETURN (SELECT count(*) FROM billing.customers); END $$`);
    try {
      const before = await snapshotDatabase(pair.source.url('shop'));
      const targetBefore = await snapshotDatabase(pair.target.url('shop'));
      const r = await ferry(['run', '-f', manifest('multi')], roles.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /references between the migrated schemas that ferry cannot point at the renamed target schemas: function open_orders\(\) in schema "sales": its body mentions schema "billing", which moves to "billing_v2"/,
      );
      expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
      expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(targetBefore);
    } finally {
      await app.query('DROP FUNCTION sales.open_orders()').finally(() => app.end());
    }
  });

  it('falls back after the load: both target schemas dropped, the source as before', async () => {
    const before = await snapshotDatabase(pair.source.url('shop'));
    const targetBefore = await snapshotDatabase(pair.target.url('shop'));
    const file = manifest('multi');
    const r = await ferry(['run', '-f', file, '--stop-after', 'Execution'], roles.env);
    expect(r.code, r.stderr).toBe(0);
    expect(
      (await query(pair.target, "SELECT 1 FROM pg_namespace WHERE nspname IN ('sales_v2', 'billing_v2')"))
        .length,
    ).toBe(2);
    const fb = await ferry(['fallback', '-f', file], roles.env);
    expect(fb.code, fb.stderr).toBe(0);
    expect(fb.stdout).toMatch(/target schema sales_v2/);
    expect(fb.stdout).toMatch(/target schema billing_v2/);
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);
    expect(await snapshotDatabase(pair.target.url('shop'))).toEqual(targetBefore);
  });
});
