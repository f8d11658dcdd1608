// The schema's objects besides the tables, end to end on real servers (PostgreSQL 15 -> 18): views,
// a materialized view, functions, a procedure, triggers, row-level security, grants, comments, a
// user collation and an extension type are recreated exactly; what ferry cannot migrate is refused
// at Checks by name, or with spec.objects.skipUnsupported left out and reported.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import type { Report } from '../report.ts';
import { ferry } from '../../test/support/cli.ts';
import { snapshotDatabase } from '../../test/support/snapshot.ts';

let pair: LocalPair;
const dir = mkdtempSync(join(tmpdir(), 'ferry-objects-'));

const SCHEMA = `
CREATE EXTENSION citext;
CREATE SCHEMA shop;
CREATE COLLATION shop.plain (provider = libc, locale = 'C');
CREATE TYPE shop.mood AS ENUM ('ok', 'bad');
CREATE FUNCTION shop.default_status() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'new' $$;
CREATE TABLE shop.customers (
  id int PRIMARY KEY, email public.citext NOT NULL, name text COLLATE shop.plain,
  owner text NOT NULL DEFAULT current_user);
CREATE TABLE shop.orders (
  id int PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers,
  status text NOT NULL DEFAULT shop.default_status(), amount numeric(12,2) NOT NULL, mood shop.mood);
CREATE TABLE shop.order_audit (order_id int NOT NULL, op text NOT NULL);
CREATE SEQUENCE shop.ticket_no;
CREATE TABLE shop.notes (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
INSERT INTO shop.notes (note) VALUES ('a'), ('b');
CREATE FUNCTION shop.audit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO shop.order_audit (order_id, op) VALUES (NEW.id, TG_OP);
  RETURN NEW;
END $$;
CREATE TRIGGER orders_audit AFTER INSERT ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.audit_order();
CREATE TRIGGER orders_audit_update AFTER UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.audit_order();
ALTER TABLE shop.orders DISABLE TRIGGER orders_audit_update;
INSERT INTO shop.customers (id, email, name) SELECT g, 'User' || g || '@Example.com', 'name ' || g FROM generate_series(1, 200) g;
INSERT INTO shop.orders (id, customer_id, amount, mood) SELECT g, 1 + g % 200, g * 1.5, CASE WHEN g % 3 = 0 THEN 'bad'::shop.mood END
  FROM generate_series(1, 1000) g;
CREATE PROCEDURE shop.close_order(p_id int) LANGUAGE plpgsql AS $$
BEGIN
  UPDATE shop.orders SET status = 'closed' WHERE id = p_id;
END $$;
CREATE VIEW shop.big_orders AS SELECT id, customer_id, amount FROM shop.orders WHERE amount > 100;
CREATE VIEW shop.big_customers AS SELECT DISTINCT customer_id FROM shop.big_orders;
CREATE VIEW shop.my_customers WITH (security_barrier = true) AS
  SELECT id, email, owner FROM shop.customers WHERE owner = current_user WITH CASCADED CHECK OPTION;
CREATE MATERIALIZED VIEW shop.customer_totals AS
  SELECT customer_id, sum(amount) AS total, count(*) AS n FROM shop.orders GROUP BY customer_id;
CREATE UNIQUE INDEX customer_totals_key ON shop.customer_totals (customer_id);
ALTER TABLE shop.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.customers FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON shop.customers FOR SELECT TO app_reader USING (owner = current_user);
GRANT USAGE ON SCHEMA shop TO app_reader;
GRANT SELECT ON shop.orders, shop.big_orders, shop.customer_totals TO app_reader;
GRANT SELECT (id, email) ON shop.customers TO app_reader;
GRANT USAGE ON SEQUENCE shop.ticket_no TO app_reader WITH GRANT OPTION;
GRANT USAGE ON TYPE shop.mood TO app_reader;
GRANT SELECT ON SEQUENCE shop.notes_id_seq TO app_reader;
REVOKE ALL ON FUNCTION shop.audit_order() FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE shop.close_order(int) TO app_reader;
COMMENT ON TABLE shop.orders IS 'one row per order';
COMMENT ON COLUMN shop.orders.amount IS 'in EUR, it''s gross';
COMMENT ON VIEW shop.big_orders IS 'orders above 100';
COMMENT ON MATERIALIZED VIEW shop.customer_totals IS 'per customer';
COMMENT ON FUNCTION shop.default_status() IS 'status of a new order';
COMMENT ON TYPE shop.mood IS 'how it went';
COMMENT ON CONSTRAINT orders_pkey ON shop.orders IS 'the key';
COMMENT ON INDEX shop.customer_totals_key IS 'one per customer';
COMMENT ON SEQUENCE shop.ticket_no IS 'tickets';
`;

/** Every catalog fact the migration must reproduce, read the same way on both servers. */
const FACTS: Record<string, string> = {
  views: `SELECT c.relname, c.relkind::text, pg_get_viewdef(c.oid, true) AS def, c.reloptions::text, c.relispopulated
            FROM pg_class c WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind IN ('v', 'm') ORDER BY 1`,
  indexes: `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'shop' ORDER BY 1`,
  routines: `SELECT p.oid::regprocedure::text AS sig, p.prokind::text, pg_get_functiondef(p.oid) AS def
               FROM pg_proc p WHERE p.pronamespace = 'shop'::regnamespace ORDER BY 1`,
  triggers: `SELECT t.tgname, pg_get_triggerdef(t.oid) AS def, t.tgenabled::text FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'shop'::regnamespace AND NOT t.tgisinternal ORDER BY 1`,
  rowSecurity: `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
                 WHERE relnamespace = 'shop'::regnamespace AND relkind = 'r' ORDER BY 1`,
  policies: `SELECT p.polname, p.polrelid::regclass::text AS rel, p.polcmd::text, p.polpermissive,
                    array(SELECT rolname::text FROM pg_roles WHERE oid = ANY(p.polroles) ORDER BY 1) AS roles,
                    pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS chk
               FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'shop'::regnamespace ORDER BY 1`,
  // The owner's own privileges are not compared: they follow the target version (MAINTAIN in 17+).
  acls: `WITH acls(what, acl, owner) AS (
           SELECT 'rel ' || relname, relacl, relowner FROM pg_class WHERE relnamespace = 'shop'::regnamespace
           UNION ALL SELECT 'col ' || c.relname || '.' || a.attname, a.attacl, c.relowner FROM pg_attribute a
                      JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'shop'::regnamespace AND a.attnum > 0
           UNION ALL SELECT 'proc ' || oid::regprocedure::text, proacl, proowner FROM pg_proc WHERE pronamespace = 'shop'::regnamespace
           UNION ALL SELECT 'type ' || typname, typacl, typowner FROM pg_type WHERE typnamespace = 'shop'::regnamespace
           UNION ALL SELECT 'schema', nspacl, nspowner FROM pg_namespace WHERE nspname = 'shop')
         SELECT what, coalesce(pg_get_userbyid(x.grantee)::text, '?') AS grantee, x.privilege_type, x.is_grantable,
                acl IS NULL AS default_acl
           FROM acls LEFT JOIN LATERAL aclexplode(acls.acl) x ON true
          WHERE (acl IS NOT NULL OR what LIKE 'proc %') AND x.grantee IS DISTINCT FROM owner
          ORDER BY 1, 2, 3`,
  comments: `SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) AS obj, d.description FROM pg_description d
              WHERE (pg_identify_object(d.classoid, d.objoid, d.objsubid)).schema = 'shop' ORDER BY 1`,
  collations: `SELECT collname, collprovider::text, collcollate, collctype, collisdeterministic FROM pg_collation
                WHERE collnamespace = 'shop'::regnamespace ORDER BY 1`,
  columns: `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attcollation::regcollation::text AS coll,
                   pg_get_expr(d.adbin, d.adrelid) AS def
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2`,
  totals: 'SELECT customer_id, total::text, n FROM shop.customer_totals ORDER BY 1',
  viewRows: `SELECT (SELECT count(*) FROM shop.big_orders)::int AS big_orders,
                    (SELECT count(*) FROM shop.big_customers)::int AS big_customers`,
  audit: 'SELECT count(*)::int AS n FROM shop.order_audit',
};

/**
 * PostgreSQL 16 stopped qualifying column names in pg_get_viewdef of single-relation queries
 * (`orders.amount` became `amount`): the same view renders differently on 15 and 18. Column
 * qualifiers are removed (the schema's, `shop.`, stays) so that the definitions compare.
 */
const unqualifiedColumns = (def: string) => def.replace(/(?<![\w.])(?!shop\.)(\w+)\.(?=\w)/g, '');

async function facts(s: LocalPair['source']): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [k, sql] of Object.entries(FACTS)) out[k] = await query(s, sql);
  out.views = (out.views as { def: string }[]).map((v) => ({ ...v, def: unqualifiedColumns(v.def) }));
  return out;
}

function manifest(name: string, spec: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, manifestFor(pair, name, { transfer: { parallelism: 2 }, ...spec }));
  return file;
}

async function resetTarget(): Promise<void> {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  await query(pair.target, 'DROP EXTENSION IF EXISTS citext');
}

const targetSchemas = async () =>
  (
    await query<{ n: string }>(
      pair.target,
      "SELECT nspname AS n FROM pg_namespace WHERE nspname = 'shop' OR nspname LIKE 'ferry\\_%' ORDER BY 1",
    )
  ).map((r) => r.n);

beforeAll(async () => {
  pair = await startLocalPair();
  for (const s of [pair.source, pair.target]) await query(s, 'CREATE ROLE app_reader', [], 'postgres');
  await query(pair.source, 'CREATE ROLE source_only', [], 'postgres');
  await query(pair.source, SCHEMA);
}, 120_000);

afterAll(async () => {
  await pair?.stop();
});

describe('schema objects, PostgreSQL 15 -> 18', () => {
  it('recreates views, routines, triggers, row security, grants, comments, collations and extensions exactly', async () => {
    const report = join(dir, 'objects.report.json');
    const r = await ferry(['run', '-f', manifest('objects'), '--report-out', report], pair.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Migration objects Completed/);
    const [src, dst] = await Promise.all([facts(pair.source), facts(pair.target)]);
    for (const k of Object.keys(FACTS)) expect(dst[k], k).toEqual(src[k]);
    // The facts are not vacuous: each kind is there.
    expect(src.views!.length).toBe(4);
    expect(src.triggers).toContainEqual(
      expect.objectContaining({ tgname: 'orders_audit_update', tgenabled: 'D' }),
    );
    expect(src.audit).toEqual([{ n: 1000 }]); // the trigger did not fire during the load
    expect(src.comments!.length).toBe(9);
    expect(src.acls).toContainEqual(
      expect.objectContaining({ what: 'rel notes_id_seq', grantee: 'app_reader', privilege_type: 'SELECT' }),
    );
    expect(src.acls).toContainEqual(
      expect.objectContaining({
        what: 'col customers.email',
        grantee: 'app_reader',
        privilege_type: 'SELECT',
      }),
    );
    expect((await query(pair.target, "SELECT 1 FROM pg_extension WHERE extname = 'citext'")).length).toBe(1);
    // The application's trigger and the routines work on the target.
    await query(pair.target, 'INSERT INTO shop.orders (id, customer_id, amount) VALUES (1001, 1, 5)');
    await query(pair.target, 'CALL shop.close_order(1001)');
    expect(await query(pair.target, 'SELECT status FROM shop.orders WHERE id = 1001')).toEqual([
      { status: 'closed' },
    ]);
    expect(await query(pair.target, FACTS.audit!)).toEqual([{ n: 1001 }]);
    const objects = (JSON.parse(readFileSync(report, 'utf8')) as Report).objects!;
    expect(objects.filter((o) => o.status !== 'migrated')).toEqual([]);
    for (const o of [
      { kind: 'view', name: 'big_customers' },
      { kind: 'materialized view', name: 'customer_totals' },
      { kind: 'procedure', name: 'close_order(integer)' },
      { kind: 'trigger', name: 'orders_audit on orders' },
      { kind: 'policy', name: 'own_rows on customers' },
      { kind: 'collation', name: 'plain' },
      { kind: 'extension', name: 'citext' },
    ])
      expect(objects).toContainEqual({ ...o, status: 'migrated' });
  });

  it('falls back to exactly what was there: views, routines, collations and the extension it created go', async () => {
    await resetTarget();
    await query(pair.target, 'CREATE SCHEMA shop'); // the target schema existed: ferry drops only its own objects
    const file = manifest('back');
    const r = await ferry(['run', '-f', file, '--stop-after', 'Execution'], pair.env);
    expect(r.code, r.stderr).toBe(0);
    expect((await query(pair.target, FACTS.views!)).length).toBe(4);
    const f = await ferry(['fallback', '-f', file], pair.env);
    expect(f.code, f.stderr).toBe(0);
    expect(
      await query(
        pair.target,
        "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'shop'::regnamespace",
      ),
    ).toEqual([{ n: 0 }]);
    expect(await query(pair.target, FACTS.routines!)).toEqual([]);
    expect(await query(pair.target, FACTS.collations!)).toEqual([]);
    expect(
      await query(pair.target, "SELECT 1 FROM pg_type WHERE typnamespace = 'shop'::regnamespace"),
    ).toEqual([]);
    expect(await query(pair.target, "SELECT extname FROM pg_extension WHERE extname = 'citext'")).toEqual([]);
    expect(await targetSchemas()).toEqual(['shop']);
  });

  it('refuses at Checks what it cannot migrate, naming each, and changes nothing; skipUnsupported migrates without them', async () => {
    await resetTarget();
    await query(
      pair.source,
      `CREATE TABLE shop.legacy (id int);
       CREATE VIEW shop.legacy_ids AS SELECT id FROM shop.legacy;
       CREATE RULE keep_audit AS ON DELETE TO shop.order_audit DO INSTEAD NOTHING;
       GRANT SELECT ON shop.orders TO source_only;`,
    );
    const before = await snapshotDatabase(pair.source.url('shop'));
    const spec = { tables: { exclude: ['legacy'] } };
    const r = await ferry(['run', '-f', manifest('refused', spec)], pair.env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('rule keep_audit on order_audit: rules are not migrated');
    expect(r.stderr).toContain('view legacy_ids: depends on table legacy, which is not selected');
    expect(r.stderr).toContain(
      'grant SELECT on table orders to source_only: role source_only does not exist on the target',
    );
    expect(r.stderr).toContain('spec.objects.skipUnsupported');
    expect(await targetSchemas()).toEqual([]);
    expect(await snapshotDatabase(pair.source.url('shop'))).toEqual(before);

    const report = join(dir, 'skipped.report.json');
    const ok = await ferry(
      [
        'run',
        '-f',
        manifest('skipping', { ...spec, objects: { skipUnsupported: true } }),
        '--report-out',
        report,
      ],
      pair.env,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('skipped rule keep_audit on order_audit: rules are not migrated');
    const objects = (JSON.parse(readFileSync(report, 'utf8')) as Report).objects!;
    expect(objects.filter((o) => o.status === 'skipped')).toEqual([
      { kind: 'table', name: 'legacy', status: 'skipped', reason: 'not selected by spec.tables' },
      {
        kind: 'view',
        name: 'legacy_ids',
        status: 'skipped',
        reason: 'depends on table legacy, which is not selected',
      },
      {
        kind: 'rule',
        name: 'keep_audit on order_audit',
        status: 'skipped',
        reason: 'rules are not migrated',
      },
      {
        kind: 'grant',
        name: 'SELECT on table orders to source_only',
        status: 'skipped',
        reason: 'role source_only does not exist on the target',
      },
    ]);
    expect(
      await query(pair.target, "SELECT relname FROM pg_class WHERE relname IN ('legacy', 'legacy_ids')"),
    ).toEqual([]);
    expect(await query(pair.target, FACTS.audit!)).toEqual(await query(pair.source, FACTS.audit!));
  });
});
