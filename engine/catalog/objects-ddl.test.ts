import { describe, expect, it } from 'vitest';
import { preLoadDdl } from './ddl.ts';
import { stageOf } from '../transfer/after-load.ts';
import {
  classify,
  createPolicyDdl,
  createViewDdl,
  describeUnsupported,
  objectSteps,
  orderViews,
  settle,
  unqualifyFunctionDef,
  withoutMissingRoles,
} from './objects-ddl.ts';
import type { GrantDef, SchemaObjects, ViewDef } from './objects-types.ts';
import { collationDdl } from './objects.ts';

const view = (name: string, uses: string[] = [], extra: Partial<ViewDef> = {}): ViewDef => ({
  key: `view ${name}`,
  name,
  materialized: false,
  query: ` SELECT 1 AS x`,
  options: [],
  populated: true,
  indexes: [],
  uses,
  ...extra,
});

const empty: SchemaObjects = {
  inventory: [],
  extensions: [],
  collations: [],
  functions: [],
  views: [],
  triggers: [],
  rowSecurity: [],
  policies: [],
  grants: [],
  comments: [],
};

const grant = (g: Partial<GrantDef>): GrantDef => ({
  type: 'TABLE',
  object: 'orders',
  key: 'table orders',
  column: null,
  privilege: 'SELECT',
  grantee: 'reader',
  grantable: false,
  ...g,
});

describe('classify', () => {
  const raw = [
    { kind: 'table', name: 'orders' },
    { kind: 'table', name: 'audit_log' },
    { kind: 'view', name: 'v1', deps: ['table orders'] },
    { kind: 'view', name: 'v2', deps: ['view v3'] },
    { kind: 'view', name: 'v3', deps: ['table audit_log'] },
    { kind: 'aggregate', name: 'total(numeric)', unsupported: 'aggregates are not migrated' },
    { kind: 'view', name: 'v4', deps: ['aggregate total(numeric)'] },
    { kind: 'rule', name: 'r1 on orders', on: 'table orders', unsupported: 'rules are not migrated' },
    { kind: 'rule', name: 'r2 on audit_log', on: 'table audit_log', unsupported: 'rules are not migrated' },
    { kind: 'trigger', name: 't on audit_log', on: 'table audit_log' },
    { kind: 'trigger', name: 't on v3', on: 'view v3' },
    { kind: 'sequence', name: 'audit_log_id_seq', on: 'table audit_log' },
    { kind: 'sequence', name: 'ticket_no' },
  ];
  const inventory = classify(raw, { tables: new Set(['orders']), sequences: new Set(['ticket_no']) });
  const fate = Object.fromEntries(inventory.map((e) => [`${e.kind} ${e.name}`, [e.status, e.reason]]));

  it('follows the tables of the catalog, and what hangs on a table left out is not selected', () => {
    expect(fate['table orders']).toEqual(['migrated', undefined]);
    expect(fate['table audit_log']).toEqual(['not selected', 'not selected by spec.tables']);
    expect(fate['rule r2 on audit_log']).toEqual(['not selected', 'table audit_log is not selected']);
    expect(fate['trigger t on audit_log']).toEqual(['not selected', 'table audit_log is not selected']);
    expect(fate['sequence audit_log_id_seq']).toEqual([
      'not selected',
      'owned by table audit_log, which is not selected',
    ]);
    expect(fate['sequence ticket_no']).toEqual(['migrated', undefined]);
  });

  it('refuses what ferry cannot migrate, and what needs it, through chains of views', () => {
    expect(fate['view v1']).toEqual(['migrated', undefined]);
    expect(fate['view v3']).toEqual(['unsupported', 'depends on table audit_log, which is not selected']);
    expect(fate['view v2']).toEqual(['unsupported', 'depends on view v3, which cannot be migrated']);
    expect(fate['view v4']).toEqual([
      'unsupported',
      'depends on aggregate total(numeric), which cannot be migrated',
    ]);
    expect(fate['trigger t on v3']).toEqual(['unsupported', 'view v3 cannot be migrated']);
    expect(describeUnsupported(inventory)).toContain('rule r1 on orders: rules are not migrated');
    expect(describeUnsupported(inventory)).not.toContain('rule r2 on audit_log: rules are not migrated');
  });
});

describe('rendering', () => {
  it('orders views after the views they read', () => {
    const ordered = orderViews([view('c', ['b']), view('a'), view('b', ['a'])]);
    expect(ordered.map((v) => v.name)).toEqual(['a', 'b', 'c']);
  });

  it('renders views with their options, materialized ones without data', () => {
    expect(
      createViewDdl(view('v', [], { options: ['security_barrier=true', 'check_option=cascaded'] })),
    ).toBe('CREATE VIEW "v" WITH (security_barrier=true, check_option=cascaded) AS\n SELECT 1 AS x');
    expect(createViewDdl(view('m', [], { materialized: true }))).toBe(
      'CREATE MATERIALIZED VIEW "m" AS\n SELECT 1 AS x\nWITH NO DATA',
    );
  });

  it('makes a routine definition unqualified and refuses to replace an existing one', () => {
    expect(
      unqualifyFunctionDef(
        'CREATE OR REPLACE FUNCTION shop.f(a integer)\n RETURNS integer\n LANGUAGE sql\nAS $function$ SELECT a $function$\n',
        'shop',
        'f',
        'function',
      ),
    ).toBe(
      'CREATE FUNCTION "f"(a integer)\n RETURNS integer\n LANGUAGE sql\nAS $function$ SELECT a $function$\n',
    );
    expect(
      unqualifyFunctionDef(
        'CREATE OR REPLACE PROCEDURE "My Schema"."Do"()\n',
        'My Schema',
        'Do',
        'procedure',
      ),
    ).toBe('CREATE PROCEDURE "Do"()\n');
    expect(() => unqualifyFunctionDef('CREATE FUNCTION other.f()', 'shop', 'f', 'function')).toThrow(
      /unexpected definition header/,
    );
  });

  it('renders policies', () => {
    expect(
      createPolicyDdl({
        key: 'policy p on t',
        table: 't',
        name: 'p',
        permissive: false,
        cmd: 'w',
        roles: ['a', 'b'],
        using: '(owner = CURRENT_USER)',
        check: 'true',
      }),
    ).toBe(
      'CREATE POLICY "p" ON "t" AS RESTRICTIVE FOR UPDATE TO "a", "b" USING ((owner = CURRENT_USER)) WITH CHECK (true)',
    );
  });

  it('renders collations from any version of pg_collation', () => {
    expect(
      collationDdl('c', { collprovider: 'c', collcollate: 'C', collctype: 'C', collisdeterministic: true }),
    ).toBe(`CREATE COLLATION "c" (provider = libc, lc_collate = 'C', lc_ctype = 'C')`);
    expect(
      collationDdl('ci', { collprovider: 'i', colliculocale: 'und-u-ks-level2', collisdeterministic: false }),
    ).toBe(`CREATE COLLATION "ci" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`);
  });

  it('builds after the load, in order: views, matview indexes, refresh, triggers with their state, row security, grants, comments', () => {
    const o: SchemaObjects = {
      ...empty,
      views: [
        view('m', [], {
          key: 'materialized view m',
          materialized: true,
          indexes: [{ name: 'm_key', definition: 'CREATE UNIQUE INDEX m_key ON m USING btree (x)' }],
        }),
        view('v', ['m']),
      ],
      triggers: [
        {
          key: 'trigger t on orders',
          table: 'orders',
          name: 't',
          definition: 'CREATE TRIGGER t ...',
          enabled: 'D',
        },
      ],
      rowSecurity: [{ key: 'table orders', table: 'orders', enabled: true, forced: true }],
      grants: [
        grant({}),
        grant({ column: 'id', privilege: 'UPDATE', grantee: null, grantable: true }),
        grant({
          type: 'FUNCTION',
          object: 'f(integer)',
          key: 'function f(integer)',
          privilege: null,
          grantee: null,
        }),
        grant({ type: 'SCHEMA', object: null, key: 'schema', privilege: 'USAGE' }),
      ],
      comments: [{ target: 'COLUMN "orders"."id"', key: 'table orders', text: "it's" }],
    };
    const steps = objectSteps(o, 'new');
    expect(steps.map((s) => s.name)).toEqual([
      'matview:"m"',
      'view:"v"',
      'mvindex:"m_key"',
      'refresh:"m"',
      'trigger:"orders"."t"',
      'rls:"orders"',
      'grant:TABLE orders',
      'grant:FUNCTION f(integer)',
      'grant:SCHEMA ',
      'comment:COLUMN "orders"."id"',
    ]);
    expect(steps.every((s) => stageOf(s) === 'objects')).toBe(true);
    const sql = Object.fromEntries(steps.map((s) => [s.name, s.sql]));
    expect(sql['trigger:"orders"."t"']).toBe(
      'CREATE TRIGGER t ...;\nALTER TABLE "orders" DISABLE TRIGGER "t"',
    );
    expect(sql['rls:"orders"']).toBe(
      'ALTER TABLE "orders" ENABLE ROW LEVEL SECURITY;\nALTER TABLE "orders" FORCE ROW LEVEL SECURITY',
    );
    expect(sql['grant:TABLE orders']).toBe(
      'REVOKE ALL ON TABLE orders FROM PUBLIC;\nGRANT SELECT ON TABLE orders TO "reader";\n' +
        'GRANT UPDATE ("id") ON TABLE orders TO PUBLIC WITH GRANT OPTION',
    );
    expect(sql['grant:FUNCTION f(integer)']).toBe('REVOKE ALL ON FUNCTION f(integer) FROM PUBLIC');
    expect(sql['grant:SCHEMA ']).toBe('GRANT USAGE ON SCHEMA "new" TO "reader"');
    expect(sql['comment:COLUMN "orders"."id"']).toBe(`COMMENT ON COLUMN "orders"."id" IS 'it''s'`);
  });
});

describe('before the load', () => {
  it('creates extensions and collations before the types, routines after them and before the tables, BEGIN ATOMIC ones after', () => {
    const objects: SchemaObjects = {
      ...empty,
      extensions: [
        { name: 'citext', schema: 'public' },
        { name: 'hstore', schema: null },
      ],
      collations: [{ key: 'collation c', name: 'c', definition: 'CREATE COLLATION "c" (provider = libc)' }],
      functions: [
        {
          key: 'function f()',
          kind: 'function',
          name: 'f',
          signature: 'f()',
          definition: 'CREATE FUNCTION f',
          atomic: false,
        },
        {
          key: 'function g()',
          kind: 'function',
          name: 'g',
          signature: 'g()',
          definition: 'CREATE FUNCTION g',
          atomic: true,
        },
      ],
    };
    const ddl = preLoadDdl(
      {
        schema: 'src',
        serverVersion: 15,
        types: [{ name: 'mood', definition: 'CREATE TYPE "mood" AS ENUM (\'ok\')' }],
        sequences: [],
        tables: [],
        objects,
      },
      'dst',
    );
    expect(ddl).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "dst"',
      'CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "public"',
      'CREATE EXTENSION IF NOT EXISTS "hstore" WITH SCHEMA "dst"',
      'CREATE COLLATION "c" (provider = libc)',
      `CREATE TYPE "dst"."mood" AS ENUM ('ok')`,
      'SET LOCAL check_function_bodies = off',
      'CREATE FUNCTION f',
      'CREATE FUNCTION g',
    ]);
  });
});

describe('target roles and settling', () => {
  it('turns grants to and policies for missing roles into refusals naming them', () => {
    const o: SchemaObjects = {
      ...empty,
      inventory: [{ kind: 'policy', name: 'p on t', status: 'migrated' }],
      policies: [
        {
          key: 'policy p on t',
          table: 't',
          name: 'p',
          permissive: true,
          cmd: '*',
          roles: ['gone'],
          using: 'true',
          check: null,
        },
      ],
      grants: [grant({}), grant({ grantee: 'gone' }), grant({ grantee: null })],
    };
    const r = withoutMissingRoles(o, new Set(['reader']), 'shop');
    expect(describeUnsupported(r.inventory)).toEqual([
      'policy p on t: role gone does not exist on the target',
      'grant SELECT on table orders to gone: role gone does not exist on the target',
    ]);
    expect(r.grants.map((g) => g.grantee)).toEqual(['reader', null]);
    expect(r.policies).toEqual([]);
  });

  it('keeps only the definitions of migrated objects', () => {
    const o = settle({
      ...empty,
      inventory: [
        { kind: 'view', name: 'a', status: 'migrated' },
        { kind: 'view', name: 'b', status: 'unsupported', reason: 'x' },
      ],
      views: [view('a'), view('b')],
      grants: [grant({ key: 'view a' }), grant({ key: 'view b' }), grant({ type: 'SCHEMA', key: 'schema' })],
      comments: [{ target: 'VIEW b', key: 'view b', text: 'x' }],
    });
    expect(o.views.map((v) => v.name)).toEqual(['a']);
    expect(o.grants.map((g) => g.key)).toEqual(['view a', 'schema']);
    expect(o.comments).toEqual([]);
  });
});
