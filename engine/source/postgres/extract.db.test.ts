// Extraction and DDL on real servers: the every-type fixture on PostgreSQL 15, rebuilt empty under
// another schema name on PostgreSQL 18 from the rendered DDL, must extract to an equivalent catalog.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../hack/postgres/server.ts';
import { quoteIdent } from '../../db/ident.ts';
import { loadEveryType } from '../../../test/support/every-type.ts';
import { droppedForeignKeys, postLoadSteps, preLoadDdl } from '../../catalog/ddl.ts';
import { catalogDifferences } from '../../catalog/diff.ts';
import { extractCatalog, refreshSequences } from './extract.ts';
import type { Catalog, Table } from '../../catalog/types.ts';

let source: PostgresServer;
let target: PostgresServer;

async function withClient<T>(s: PostgresServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: s.url() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const extract = (s: PostgresServer, schema: string, tables?: string[]) =>
  withClient(s, (c) => extractCatalog(c, schema, tables));

/** Runs the rendered DDL the way the runner does: pre-load in one transaction, then each step alone. */
async function rebuild(catalog: Catalog, schema: string): Promise<void> {
  await withClient(target, async (c) => {
    const run = async (sql: string, what: string) => {
      try {
        await c.query(sql);
      } catch (err) {
        throw new Error(`${what} failed: ${(err as Error).message}\n${sql}`);
      }
    };
    await c.query('BEGIN');
    await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
    // The schema does not exist yet: search_path may name it anyway.
    for (const sql of preLoadDdl(catalog, schema)) await run(sql, 'pre-load statement');
    await c.query('COMMIT');
    const { rows } = await c.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relnamespace = $1::regnamespace)
            + (SELECT count(*) FROM pg_constraint WHERE connamespace = $1::regnamespace AND contype IN ('p', 'u', 'c', 'f', 'x')
                 AND conrelid <> 0) AS n`,
      [quoteIdent(schema)],
    );
    expect(Number(rows[0]!.n), 'indexes and constraints present right after the pre-load DDL').toBe(0);
    for (const step of postLoadSteps(catalog, schema)) {
      await c.query('BEGIN');
      await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
      await run(step.sql, `step ${step.name}`);
      // A foreign key is added NOT VALID, then validated (as the pipeline does).
      if (step.validate) await run(step.validate, `validating ${step.name}`);
      await c.query('COMMIT');
    }
  });
}

function table(catalog: Catalog, name: string): Table {
  const t = catalog.tables.find((x) => x.name === name);
  if (!t)
    throw new Error(`table ${name} not in the catalog (${catalog.tables.map((x) => x.name).join(', ')})`);
  return t;
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres({ version: 15 }), startPostgres({ version: 18 })]);
  await withClient(source, async (c) => {
    await loadEveryType(c, 'app');
    await loadEveryType(c, `it's "odd"`);
    await c.query(`
      CREATE SCHEMA shapes;
      SET search_path = shapes;
      CREATE TABLE plain (id int PRIMARY KEY);
      CREATE TABLE measurements (at date NOT NULL, v int) PARTITION BY RANGE (at);
      CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE base (id int);
      CREATE TABLE derived (extra text) INHERITS (base);
      CREATE VIEW plain_view AS SELECT * FROM plain;
      RESET search_path;`);
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('extractCatalog on the every-type fixture (PostgreSQL 15)', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await extract(source, 'app');
  });

  it('reads every table, skipping nothing', () => {
    expect(catalog.serverVersion).toBe(15);
    expect(catalog.tables.map((t) => t.name)).toEqual([
      'Mixed Case',
      'Order',
      'bookings',
      'by_default',
      'code_refs',
      'every_type',
      `it's a "table".v2`,
      'line_items',
      'no_key',
      'serial_things',
      'tree',
    ]);
  });

  it('orders user types so that each follows the types it is made of', () => {
    const names = catalog.types.map((t) => t.name);
    expect([...names].sort()).toEqual(['address', 'floatrange', 'mood', 'positive_int', 'zip_code']);
    expect(names.indexOf('zip_code'), 'zip_code before address').toBeLessThan(names.indexOf('address'));
    expect(names.indexOf('mood'), 'mood before address').toBeLessThan(names.indexOf('address'));
    const def = Object.fromEntries(catalog.types.map((t) => [t.name, t.definition]));
    expect(def.mood).toBe(`CREATE TYPE "mood" AS ENUM ('sad', 'ok', 'happy', 'it''s complicated')`);
    expect(def.zip_code).toBe(
      `CREATE DOMAIN "zip_code" AS character varying(10) COLLATE "C" DEFAULT '00000'::character varying NOT NULL ` +
        `CONSTRAINT "zip_digits" CHECK (((VALUE)::text ~ '^[0-9]+$'::text))`,
    );
    expect(def.address).toBe(
      `CREATE TYPE "address" AS ("street" text, "city" text COLLATE "C", "zip" zip_code, "moods" mood[])`,
    );
    expect(def.floatrange).toBe(
      `CREATE TYPE "floatrange" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi, MULTIRANGE_TYPE_NAME = "floatmultirange")`,
    );
  });

  it('renders columns unqualified, with identity, generation, collation and binary-COPY eligibility', () => {
    const cols = Object.fromEntries(table(catalog, 'every_type').columns.map((c) => [c.name, c]));
    expect(cols.id).toMatchObject({ type: 'bigint', identity: 'a', default: null, notNull: true });
    expect(cols.c_total).toMatchObject({ generated: '(COALESCE(c_numeric, (0)::numeric) * (2)::numeric)' });
    expect(cols.c_ticket).toMatchObject({ default: `nextval('ticket_no'::regclass)`, notNull: true });
    expect(cols.c_timestamptz!.type).toBe('timestamp(3) with time zone');
    expect(cols.c_numeric!.type).toBe('numeric(12,2)');
    expect(cols.c_text_c!.collation).toBe('"C"');
    expect(cols.c_text!.collation).toBeNull();
    for (const name of ['c_mood', 'c_moods', 'c_positive', 'c_address', 'c_range'])
      expect(cols[name]!.builtinType, `column every_type.${name} has a user type`).toBe(false);
    for (const name of ['c_int_array', 'c_matrix', 'c_jsonb', 'c_bytea', 'c_numeric', 'c_uuid'])
      expect(cols[name]!.builtinType, `column every_type.${name} is built in`).toBe(true);
  });

  it('finds keys: primary, unique stand-in, none', () => {
    expect(table(catalog, 'line_items')).toMatchObject({ key: ['order_id', 'line'], keyIsPrimary: true });
    expect(table(catalog, `it's a "table".v2`)).toMatchObject({
      key: ['Code'],
      keyIsPrimary: false,
      keyName: 'code is unique',
    });
    expect(table(catalog, 'no_key')).toMatchObject({ key: [], keyIsPrimary: false, keyName: null });
  });

  it('keeps constraint-backing indexes out of the index list and renders the rest unqualified', () => {
    const idx = table(catalog, 'every_type').indexes;
    expect(idx.map((i) => i.name)).toEqual([
      'every_type_jsonb',
      'every_type_pattern',
      'every_type_recent',
      'every_type_varchar_lower',
    ]);
    for (const i of idx) expect(i.definition, `index ${i.name}`).not.toContain('app.');
    expect(table(catalog, 'bookings').indexes).toEqual([]);
    expect(table(catalog, 'bookings').constraints.map((k) => [k.name, k.kind])).toEqual([
      ['bookings_no_overlap', 'x'],
      ['bookings_pkey', 'p'],
      ['bookings_room_unique', 'u'],
    ]);
  });

  it('reads sequences: free ones (used by a default or not), serial ones with their owner, identity ones', () => {
    const seqs = Object.fromEntries(catalog.sequences.map((s) => [s.name, s]));
    expect(Object.keys(seqs).sort()).toEqual([
      'Invoice No',
      'code_refs_id_seq',
      'serial_things_big_seq',
      'serial_things_id_seq',
      'ticket_no',
    ]);
    expect(seqs['Invoice No']).toEqual({
      name: 'Invoice No',
      options: 'AS integer INCREMENT BY -1 MINVALUE -1000000 MAXVALUE -1 START WITH -1 CACHE 10 CYCLE',
      lastValue: '-50',
      isCalled: true,
      ownedBy: null,
    });
    expect(seqs.serial_things_id_seq).toMatchObject({
      lastValue: '200',
      ownedBy: { table: 'serial_things', column: 'id' },
    });
    expect(table(catalog, 'bookings').identitySequences).toEqual([
      {
        column: 'id',
        sequence: 'bookings_id_seq',
        options: 'INCREMENT BY 10 MINVALUE 1 MAXVALUE 2147483647 START WITH 100 CACHE 5 NO CYCLE',
        lastValue: '690',
        isCalled: true,
      },
    ]);
    expect(table(catalog, 'every_type').identitySequences[0]).toMatchObject({
      column: 'id',
      lastValue: '3007',
    });
  });

  it('estimates rows and sizes', () => {
    const t = table(catalog, 'every_type');
    expect(t.rowEstimate).toBe(3000);
    expect(t.pages).toBeGreaterThan(0);
    expect(t.heapBytes).toBeGreaterThan(0);
    expect(t.totalBytes, 'TOAST holds the multi-megabyte values').toBeGreaterThan(t.heapBytes + 9e6);
  });
});

describe('rebuilding on PostgreSQL 18 from the rendered DDL', () => {
  it('gives app_copy a catalog equivalent to app, sequence values included', async () => {
    const src = await extract(source, 'app');
    await rebuild(src, 'app_copy');
    const dst = await extract(target, 'app_copy');
    expect(dst.serverVersion).toBe(18);
    expect(catalogDifferences(src, dst, { sequenceValues: true })).toEqual([]);
  });

  it('works for a schema whose name holds quotes, into another such schema', async () => {
    const src = await extract(source, `it's "odd"`);
    expect(src.tables).toHaveLength(11);
    await rebuild(src, `copy of "odd", it's`);
    const dst = await extract(target, `copy of "odd", it's`);
    expect(catalogDifferences(src, dst, { sequenceValues: true })).toEqual([]);
  });

  it('extracts and rebuilds a single named table', async () => {
    const src = await extract(source, 'app', ['line_items']);
    expect(src.tables.map((t) => t.name)).toEqual(['line_items']);
    // Types belong to the schema like free sequences: every one comes along, used by the table or not.
    expect(src.types.map((t) => t.name)).toEqual([
      'floatrange',
      'mood',
      'positive_int',
      'zip_code',
      'address',
    ]);
    // Free sequences belong to the schema, not to a table; serial ones stay with their table.
    expect(src.sequences.map((s) => s.name)).toEqual(['Invoice No', 'ticket_no']);
    expect(droppedForeignKeys(src)).toEqual(['line_items.line_items_order_id_fkey']);
    await rebuild(src, 'one_table');
    const dst = await extract(target, 'one_table');
    // The FK to "Order" cannot exist on the target: everything else must.
    const fk = 'table "line_items" constraint "line_items_order_id_fkey": missing';
    expect(catalogDifferences(src, dst, { sequenceValues: true })).toEqual([fk]);
  });
});

describe('types from extensions, and PostgreSQL 18 virtual generated columns', () => {
  it('leaves extension types to the extension, in another schema or in the migrated one', async () => {
    await withClient(source, (c) =>
      c.query(`
        CREATE EXTENSION citext SCHEMA public;
        CREATE SCHEMA ext;
        CREATE EXTENSION hstore SCHEMA ext;
        CREATE TABLE ext.emails (id int PRIMARY KEY, email public.citext NOT NULL, attrs ext.hstore);`),
    );
    const src = await extract(source, 'ext');
    expect(src.types, 'no CREATE TYPE for extension types').toEqual([]);
    const cols = table(src, 'emails').columns;
    expect(cols.map((c) => [c.name, c.type, c.builtinType])).toEqual([
      ['id', 'integer', true],
      ['email', 'public.citext', false],
      ['attrs', 'hstore', false],
    ]);
    // The target provides the extensions, hstore inside the target schema as on the source.
    await withClient(target, (c) =>
      c.query(
        'CREATE EXTENSION citext SCHEMA public; CREATE SCHEMA ext_copy; CREATE EXTENSION hstore SCHEMA ext_copy',
      ),
    );
    await rebuild(src, 'ext_copy');
    expect(catalogDifferences(src, await extract(target, 'ext_copy'))).toEqual([]);
  });

  it('renders a virtual generated column as virtual', async () => {
    await withClient(target, (c) =>
      c.query(`CREATE SCHEMA virt;
        CREATE TABLE virt.t (a int, doubled int GENERATED ALWAYS AS (a * 2) VIRTUAL, kept int GENERATED ALWAYS AS (a + 1) STORED)`),
    );
    const src = await extract(target, 'virt');
    expect(table(src, 't').columns.map((c) => [c.name, c.generated, c.virtual ?? false, c.default])).toEqual([
      ['a', null, false, null],
      ['doubled', '(a * 2)', true, null],
      ['kept', '(a + 1)', false, null],
    ]);
    await rebuild(src, 'virt_copy');
    expect(catalogDifferences(src, await extract(target, 'virt_copy'))).toEqual([]);
  });
});

describe('refreshSequences', () => {
  it('re-reads serial, free and identity sequences after the application moved them', async () => {
    await withClient(source, (c) =>
      c.query(`
        CREATE SCHEMA moving;
        CREATE TABLE moving.t (id int GENERATED ALWAYS AS IDENTITY, s serial, v text);
        CREATE SEQUENCE moving.free;`),
    );
    const before = await extract(source, 'moving');
    await withClient(source, (c) =>
      c.query(
        `INSERT INTO moving.t (v) SELECT 'x' FROM generate_series(1, 5); SELECT nextval('moving.free')`,
      ),
    );
    const after = await withClient(source, (c) => refreshSequences(c, before));
    expect(after.sequences.map((s) => [s.name, s.lastValue, s.isCalled])).toEqual([
      ['free', '1', true],
      ['t_s_seq', '5', true],
    ]);
    expect(table(after, 't').identitySequences).toMatchObject([
      { column: 'id', lastValue: '5', isCalled: true },
    ]);
    expect(before.sequences.map((s) => s.isCalled)).toEqual([false, false]);
  });
});

describe('what extraction refuses', () => {
  it('takes partitioned tables with their partitions and inheritance trees whole', async () => {
    const c = await extract(source, 'shapes');
    expect(c.tables.map((t) => t.name)).toEqual([
      'base',
      'derived',
      'measurements',
      'measurements_2025',
      'plain',
    ]);
    expect(table(c, 'measurements').partitionBy).toBe('RANGE (at)');
    expect(table(c, 'measurements_2025').partitionOf).toEqual({
      parent: 'measurements',
      bound: "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    });
    expect(table(c, 'derived').inherits).toEqual(['base']);
    const named = await extract(source, 'shapes', ['measurements']);
    expect(named.tables.map((t) => t.name)).toEqual(['measurements', 'measurements_2025']);
  });

  it('refuses named tables that are missing or views', async () => {
    await expect(extract(source, 'shapes', ['plain', 'nope', 'plain_view'])).rejects.toThrow(
      'table "nope" does not exist in schema "shapes"; table "plain_view" cannot be migrated: is a view, not a table',
    );
  });

  it('refuses a partition named alone and an inheritance tree cut in two, naming both tables', async () => {
    await expect(extract(source, 'shapes', ['measurements_2025'])).rejects.toThrow(
      'table "measurements_2025" is a partition of "measurements": a partition moves with its partitioned table; select "measurements"',
    );
    await expect(extract(source, 'shapes', ['derived'])).rejects.toThrow(
      'table "derived" inherits from "base", which is not selected: select both or neither',
    );
    await expect(extract(source, 'shapes', ['base'])).rejects.toThrow(
      'table "base" is selected but its inheritance child "derived" is not: select both or neither',
    );
  });

  it('refuses a tree that reaches into another schema, unless the table is left out', async () => {
    await withClient(source, (c) =>
      c.query(`
        CREATE SCHEMA far; CREATE TABLE far.parent (id int);
        CREATE SCHEMA near; CREATE TABLE near.kid (k int) INHERITS (far.parent); CREATE TABLE near.alone (id int);`),
    );
    await expect(extract(source, 'near')).rejects.toThrow(
      'table "kid" cannot be migrated: its partition or inheritance tree reaches into another schema (far.parent); exclude it with spec.tables.exclude',
    );
    expect((await extract(source, 'near', ['alone'])).tables.map((t) => t.name)).toEqual(['alone']);
  });

  it('refuses a schema that does not exist', async () => {
    await expect(extract(source, 'no such schema')).rejects.toThrow('schema "no such schema" does not exist');
  });
});
