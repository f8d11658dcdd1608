// The catalog built from SQL Server's sys.* rows, judged by a real PostgreSQL: ferry's DDL for it
// (ddl.ts) is accepted, and the translated identities, defaults, computed columns, CHECKs and
// filtered unique indexes behave on PostgreSQL as they do on SQL Server. No SQL Server runs here:
// the rows are what sys.* returns for the T-SQL in each comment.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../hack/postgres/server.ts';
import { rawTable } from '../../../test/support/mssql-catalog.ts';
import { targetPostLoadSteps, targetPreLoadDdl } from '../../catalog/ddl.ts';
import { buildCatalog, type RawCatalog, type RawColumn } from './catalog.ts';
import { translateExpression } from './expression.ts';

const S = 'Sales Dept';
const type = (
  name: string,
  maxLength: number,
  precision = 0,
  scale = 0,
  collation: string | null = null,
) => ({
  name,
  alias: null,
  maxLength,
  precision,
  scale,
  collation,
  codePage: collation ? 1252 : null,
});
const col = (
  table: string,
  name: string,
  t: RawColumn['type'],
  extra: Partial<RawColumn> = {},
): RawColumn => ({
  schema: S,
  table,
  name,
  type: t,
  nullable: false,
  identity: null,
  computed: null,
  default: null,
  columnSet: false,
  comment: null,
  ...extra,
});
const int = type('int', 4, 10);
const table = (name: string) => rawTable(S, name);
const part = (tbl: string, index: string, column: string, extra = {}) => ({
  schema: S,
  table: tbl,
  index,
  type: 2,
  typeDesc: 'NONCLUSTERED',
  unique: false,
  primaryKey: false,
  uniqueConstraint: false,
  disabled: false,
  filter: null,
  column,
  descending: false,
  included: false,
  ...extra,
});

// CREATE SEQUENCE [Sales Dept].[order no] AS int START WITH 1;  -- NEXT VALUE FOR it 41 times
// CREATE TABLE [Sales Dept].[a]]b] (
//   id int IDENTITY(1000, -5) PRIMARY KEY, [line no] int NOT NULL DEFAULT NEXT VALUE FOR [Sales Dept].[order no],
//   code nvarchar(20) NULL, note nvarchar(max) NULL, deleted_at datetime2(3) NULL,
//   price decimal(10,2) NOT NULL DEFAULT 0, qty int NOT NULL CHECK (qty > 0), total AS price * qty,
//   flag bit NOT NULL DEFAULT CONVERT(bit, 1), created datetime2(3) NOT NULL DEFAULT sysdatetime(),
//   uid uniqueidentifier NOT NULL DEFAULT newid());
// CREATE UNIQUE INDEX ux_open ON [Sales Dept].[a]]b] (code DESC) INCLUDE (note) WHERE deleted_at IS NULL;
// -- three rows inserted: last_value 990
const raw: RawCatalog = {
  version: '16.0.4135.4',
  tables: [table('a]b')],
  columns: [
    col('a]b', 'id', int, { identity: { seed: '1000', increment: '-5', lastValue: '990' } }),
    col('a]b', 'line no', int, { default: '(NEXT VALUE FOR [Sales Dept].[order no])' }),
    col('a]b', 'code', type('nvarchar', 40, 0, 0, 'SQL_Latin1_General_CP1_CI_AS'), { nullable: true }),
    col('a]b', 'note', type('nvarchar', -1, 0, 0, 'SQL_Latin1_General_CP1_CI_AS'), { nullable: true }),
    col('a]b', 'deleted_at', type('datetime2', 7, 23, 3), { nullable: true }),
    col('a]b', 'price', type('decimal', 9, 10, 2), { default: '((0))' }),
    col('a]b', 'qty', int),
    col('a]b', 'total', type('decimal', 13, 21, 2), {
      nullable: true,
      computed: { definition: '([price]*[qty])', persisted: false },
    }),
    col('a]b', 'flag', type('bit', 1, 1), { default: '(CONVERT([bit],(1)))' }),
    col('a]b', 'created', type('datetime2', 7, 23, 3), { default: '(sysdatetime())' }),
    col('a]b', 'uid', type('uniqueidentifier', 16), { default: '(newid())' }),
  ],
  indexes: [
    part('a]b', 'PK_a]b', 'id', { type: 1, typeDesc: 'CLUSTERED', unique: true, primaryKey: true }),
    part('a]b', 'ux_open', 'code', { unique: true, descending: true, filter: '([deleted_at] IS NULL)' }),
    part('a]b', 'ux_open', 'note', { unique: true, included: true, filter: '([deleted_at] IS NULL)' }),
  ],
  checks: [
    {
      schema: S,
      table: 'a]b',
      name: 'CK_qty',
      definition: '([qty]>(0))',
      disabled: false,
      notTrusted: false,
    },
  ],
  foreignKeys: [],
  sequences: [
    {
      schema: S,
      name: 'order no',
      type: 'int',
      start: '1',
      increment: '1',
      minimum: '-2147483648',
      maximum: '2147483647',
      cycle: false,
      current: '41',
      lastUsed: '41',
    },
  ],
  others: [],
};

let server: PostgresServer;
let c: pg.Client;

beforeAll(async () => {
  server = await startPostgres({ version: 15 });
  c = new pg.Client({ connectionString: server.url() });
  await c.connect();
  const settings = { schemas: [{ source: S, target: 'sales' }] };
  const { catalog, refused } = buildCatalog(raw, { ...settings, typeMap: [] });
  expect(refused).toEqual([]);
  await c.query('CREATE SCHEMA sales');
  await c.query('SET search_path = sales');
  for (const sql of targetPreLoadDdl(catalog, settings)) await c.query(sql);
  for (const step of targetPostLoadSteps(catalog, settings)) {
    await c.query(step.sql);
    if (step.validate) await c.query(step.validate);
  }
}, 120_000);

afterAll(async () => {
  await c?.end();
  await server?.stop();
});

describe('a SQL Server catalog on PostgreSQL', () => {
  it('continues the identity and the sequence where the source stands, with the defaults', async () => {
    const { rows } = await c.query<Record<string, string | boolean>>(
      `INSERT INTO "a]b" (code, qty, price) VALUES ('a', 2, 1.25), ('b', 3, 2) RETURNING id, "line no", total, flag, created, uid`,
    );
    // IDENTITY(1000, -5) after 1000, 995, 990; the sequence after 41.
    expect(rows.map((r) => [r['id'], r['line no'], r['total'], r['flag']])).toEqual([
      [985, 42, '2.50', true],
      [980, 43, '6.00', true],
    ]);
    expect(rows[0]!['created']).toBeInstanceOf(Date);
    expect(String(rows[0]!['uid'])).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('enforces the CHECK and the filtered unique index as SQL Server does', async () => {
    await expect(c.query(`INSERT INTO "a]b" (qty) VALUES (0)`)).rejects.toThrow(/CK_qty/);
    // One NULL code among the rows not deleted, as a SQL Server unique index allows.
    await c.query(`INSERT INTO "a]b" (code, qty) VALUES (NULL, 1)`);
    await expect(c.query(`INSERT INTO "a]b" (code, qty) VALUES (NULL, 1)`)).rejects.toThrow(/ux_open/);
    await expect(c.query(`INSERT INTO "a]b" (code, qty) VALUES ('a', 1)`)).rejects.toThrow(/ux_open/);
    await c.query(`INSERT INTO "a]b" (code, qty, deleted_at) VALUES ('a', 1, now()), ('a', 1, now())`);
  });

  it('evaluates translated expressions to what SQL Server computes', async () => {
    // [T-SQL, its value on SQL Server]
    const cases: [string, string][] = [
      ["(len(N'ab  '))", '2'],
      ["(len(N'  ab'))", '4'],
      ["(ltrim(N'  ab '))", 'ab '],
      ['((-7)%(2))', '-1'],
      ['((7)/(-2))', '-3'],
      ['((1)-(-1))', '2'],
      ["((N'a'+N'b')+N'c')", 'abc'],
      ['(isnull(NULL,(3)))', '3'],
      ['(ceiling((1.2)))', '2'],
      ['(abs((-4.50)))', '4.50'],
    ];
    for (const [tsql, value] of cases) {
      const { sql } = translateExpression(tsql);
      const { rows } = await c.query<{ v: string }>(`SELECT (${sql})::text AS v`);
      expect(rows[0]!.v, `${tsql} → ${sql}`).toBe(value);
    }
  });
});

describe('a multi-schema SQL Server catalog on PostgreSQL', () => {
  it('creates both schemas, the foreign key across them pointing at the renamed one', async () => {
    const settings = {
      schemas: [
        { source: 'dbo', target: 'app' },
        { source: 'billing', target: 'billing_v2' },
      ],
    };
    const { catalog, refused } = buildCatalog(
      {
        ...raw,
        tables: [rawTable('dbo', 'lines'), rawTable('billing', 'invoices')],
        columns: [
          { ...col('lines', 'invoice_id', int), schema: 'dbo' },
          { ...col('invoices', 'id', int), schema: 'billing' },
        ],
        indexes: [
          {
            ...part('invoices', 'PK_invoices', 'id', { type: 1, unique: true, primaryKey: true }),
            schema: 'billing',
          },
        ],
        checks: [],
        foreignKeys: [
          {
            schema: 'dbo',
            table: 'lines',
            name: 'FK_lines_invoices',
            referencedSchema: 'billing',
            referencedTable: 'invoices',
            columns: ['invoice_id'],
            referencedColumns: ['id'],
            deleteAction: 'CASCADE',
            updateAction: 'NO_ACTION',
            disabled: false,
            notTrusted: false,
          },
        ],
        sequences: [],
      },
      { ...settings, typeMap: [] },
    );
    expect(refused).toEqual([]);
    await c.query('BEGIN');
    for (const sql of targetPreLoadDdl(catalog, settings)) await c.query(sql);
    await c.query('COMMIT');
    for (const step of targetPostLoadSteps(catalog, settings)) {
      await c.query(`SET search_path = "${step.schema}"`);
      await c.query(step.sql);
      if (step.validate) await c.query(step.validate);
    }
    await c.query('INSERT INTO billing_v2.invoices VALUES (1)');
    await c.query('INSERT INTO app.lines VALUES (1)');
    await expect(c.query('INSERT INTO app.lines VALUES (2)')).rejects.toThrow(/FK_lines_invoices/);
    await c.query('DELETE FROM billing_v2.invoices');
    expect((await c.query('SELECT count(*)::int AS n FROM app.lines')).rows[0].n).toBe(0);
  });
});
