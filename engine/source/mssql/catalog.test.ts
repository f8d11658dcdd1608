import { describe, expect, it } from 'vitest';
import { rawTable } from '../../../test/support/mssql-catalog.ts';
import type { MssqlRow, Param } from './connect.ts';
import {
  buildCatalog,
  readRawCatalog,
  readSequenceStates,
  withSequenceStates,
  type BuildOptions,
} from './catalog.ts';

/** A session answering each sys.* query with canned rows (as tedious hands them), recording what it was asked. */
function fakeSession(answers: [string, MssqlRow[]][]) {
  const calls: { sql: string; params: readonly Param[] }[] = [];
  return {
    calls,
    rows: async (sql: string, params: readonly Param[] = []) => {
      calls.push({ sql, params });
      return answers.find(([marker]) => sql.includes(marker))?.[1] ?? [];
    },
  };
}

const S = 'Sales Dept';
const ci = 'SQL_Latin1_General_CP1_CI_AS';
const table = (name: string, extra: MssqlRow = {}): MssqlRow => ({
  schema: S,
  name,
  temporal: 0,
  ledger: 0,
  memory: false,
  filetable: false,
  external: false,
  graph: false,
  rows: '1200',
  total_pages: '40',
  data_pages: '25',
  comment: null,
  ...extra,
});
const column = (tbl: string, name: string, type: string, extra: MssqlRow = {}): MssqlRow => ({
  schema: S,
  tbl,
  name,
  type_name: type,
  alias: null,
  max_length: 4,
  precision: 10,
  scale: 0,
  collation: null,
  code_page: null,
  nullable: false,
  column_set: false,
  is_identity: false,
  seed: null,
  increment: null,
  last_value: null,
  computed: null,
  persisted: null,
  def: null,
  comment: null,
  ...extra,
});
const nvarchar = (chars: number) => ({ max_length: chars * 2, precision: 0, collation: ci, code_page: 0 });
const indexPart = (tbl: string, name: string, col: string, extra: MssqlRow = {}): MssqlRow => ({
  schema: S,
  tbl,
  name,
  type: 2,
  type_desc: 'NONCLUSTERED',
  is_unique: false,
  pk: false,
  uq: false,
  disabled: false,
  filter: null,
  col,
  descending: false,
  included: false,
  ...extra,
});

const answers: [string, MssqlRow[]][] = [
  ["SERVERPROPERTY('ProductVersion')", [{ v: '16.0.4135.4' }]],
  [
    'FROM sys.tables t',
    [
      table('a]b', { comment: 'Order lines' }),
      table('Orders'),
      table('Orders_History', { temporal: 1 }),
      table('tickets'),
    ],
  ],
  [
    'FROM sys.columns c',
    [
      column('a]b', 'order_id', 'int'),
      column('a]b', 'line no', 'int'),
      column('a]b', 'code', 'nvarchar', { ...nvarchar(20), nullable: true, comment: 'Product code' }),
      column('a]b', 'note', 'nvarchar', { ...nvarchar(0), max_length: -1, nullable: true }),
      column('a]b', 'deleted_at', 'datetime2', { max_length: 7, precision: 23, scale: 3, nullable: true }),
      column('a]b', 'price', 'decimal', { max_length: 9, precision: 10, scale: 2, def: '((0))' }),
      column('a]b', 'qty', 'int', { def: '((1))' }),
      column('a]b', 'total', 'decimal', {
        max_length: 13,
        precision: 21,
        scale: 2,
        nullable: true,
        computed: '([price]*[qty])',
        persisted: false,
      }),
      column('a]b', 'phone', 'nvarchar', { ...nvarchar(20), alias: 'dbo.phone', nullable: true }),
      column('a]b', 'place', 'geography', { max_length: -1, nullable: true }),
      column('a]b', 'flag', 'bit', { max_length: 1, precision: 1, def: '((1))' }),
      column('a]b', 'label', 'nvarchar', { ...nvarchar(10), nullable: true, def: "(upper(N'x'))" }),
      column('Orders', 'id', 'int', { is_identity: true, seed: '1000', increment: '-5', last_value: '990' }),
      column('Orders', 'created', 'datetime2', {
        max_length: 8,
        precision: 27,
        scale: 7,
        def: '(sysdatetime())',
      }),
      column('Orders', 'stamp', 'datetime', {
        max_length: 8,
        precision: 23,
        scale: 3,
        computed: '(getdate())',
      }),
      column('Orders_History', 'id', 'int'),
      column('tickets', 'no', 'decimal', {
        max_length: 9,
        precision: 12,
        scale: 0,
        is_identity: true,
        seed: '1',
        increment: '1',
      }),
      column('tickets', 'seq', 'bigint', {
        max_length: 8,
        precision: 19,
        def: '(NEXT VALUE FOR [Sales Dept].[order no])',
      }),
      column('tickets', 'h', 'bigint', {
        max_length: 8,
        precision: 19,
        def: '(NEXT VALUE FOR [Sales Dept].[huge])',
      }),
      column('tickets', 'extras', 'xml', { max_length: -1, nullable: true, column_set: true }),
      column('tickets', 'id', 'uniqueidentifier', { max_length: 16, precision: 0, def: '(newid())' }),
    ],
  ],
  [
    'FROM sys.indexes i',
    [
      indexPart('a]b', 'PK_a]b', 'order_id', { type: 1, type_desc: 'CLUSTERED', is_unique: true, pk: true }),
      indexPart('a]b', 'PK_a]b', 'line no', { type: 1, type_desc: 'CLUSTERED', is_unique: true, pk: true }),
      indexPart('a]b', 'ux_open', 'code', {
        is_unique: true,
        filter: '([deleted_at] IS NULL)',
        descending: true,
      }),
      indexPart('a]b', 'ux_open', 'note', {
        is_unique: true,
        filter: '([deleted_at] IS NULL)',
        included: true,
      }),
      indexPart('a]b', 'ix_place', 'place', { type: 4, type_desc: 'SPATIAL' }),
      indexPart('a]b', 'ix_code', 'code', { filter: "([code]<>N'x')" }),
      indexPart('Orders', 'PK_Orders', 'id', { type: 1, type_desc: 'CLUSTERED', is_unique: true, pk: true }),
      indexPart('tickets', 'ix_seq', 'seq'),
      indexPart('tickets', 'uq_id', 'id', { is_unique: true, uq: true }),
    ],
  ],
  [
    'FROM sys.check_constraints k',
    [
      {
        schema: S,
        tbl: 'a]b',
        name: 'CK_qty',
        definition: '([qty]>(0))',
        disabled: false,
        not_trusted: true,
      },
      {
        schema: S,
        tbl: 'a]b',
        name: 'CK_code',
        definition: "([code]<>N'x')",
        disabled: false,
        not_trusted: false,
      },
      {
        schema: S,
        tbl: 'a]b',
        name: 'CK_off',
        definition: '([qty]<(100))',
        disabled: true,
        not_trusted: true,
      },
    ],
  ],
  [
    'FROM sys.foreign_keys f',
    [
      {
        schema: S,
        tbl: 'a]b',
        name: 'FK_lines_orders',
        ref_schema: S,
        ref_table: 'Orders',
        col: 'order_id',
        ref_col: 'id',
        del: 'CASCADE',
        upd: 'NO_ACTION',
        disabled: false,
        not_trusted: false,
      },
      {
        schema: S,
        tbl: 'tickets',
        name: 'FK_tickets_elsewhere',
        ref_schema: 'hr',
        ref_table: 'people',
        col: 'seq',
        ref_col: 'id',
        del: 'NO_ACTION',
        upd: 'NO_ACTION',
        disabled: false,
        not_trusted: false,
      },
    ],
  ],
  [
    'FROM sys.sequences q',
    [
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
        last_used: '41',
      },
      {
        schema: S,
        name: 'huge',
        type: 'decimal',
        start: '1',
        increment: '1',
        minimum: '1',
        maximum: '99999999999999999999',
        cycle: false,
        current: '1',
        last_used: null,
      },
    ],
  ],
  [
    'FROM sys.objects o',
    [
      { schema: S, kind: 'view', name: 'v_open', tbl: null },
      { schema: S, kind: 'trigger', name: 'trg_audit', tbl: 'a]b' },
      { schema: S, kind: 'trigger', name: 'ferry_m1_log', tbl: 'a]b' },
      { schema: S, kind: 'procedure', name: 'close_orders', tbl: null },
    ],
  ],
];

const opts: BuildOptions = {
  schemas: [{ source: S, target: 'sales' }],
  typeMap: [],
  ours: (_schema, trigger) => trigger.startsWith('ferry_m1_'),
};

describe('SQL Server catalog', () => {
  it('passes the schema list as parameters, never in the SQL text', async () => {
    const session = fakeSession(answers);
    const schemas = [S, "it's]"];
    await readRawCatalog(session, schemas);
    const catalogQueries = session.calls.filter((c) => c.sql.includes('s.name IN'));
    expect(catalogQueries.length).toBeGreaterThanOrEqual(7);
    for (const c of catalogQueries) {
      expect(c.sql).toContain('s.name IN (@p1, @p2)');
      expect(c.params).toEqual(schemas);
      for (const name of schemas) expect(c.sql).not.toContain(name);
    }
  });

  it('reads the newer sys.* columns only where the server has them', async () => {
    const at = async (version: string) => {
      const session = fakeSession([["SERVERPROPERTY('ProductVersion')", [{ v: version }]]]);
      await readRawCatalog(session, ['dbo']);
      return session.calls.map((c) => c.sql).join('\n');
    };
    const old = await at('13.0.6300.2');
    expect(old).not.toMatch(/ledger_type|last_used_value|is_node/);
    const current = await at('16.0.4135.4');
    expect(current).toMatch(/t\.ledger_type/);
    expect(current).toMatch(/q\.last_used_value/);
    expect(current).toMatch(/t\.is_node = 1 OR t\.is_edge = 1/);
  });

  it('builds tables, keys, indexes, constraints and sequences from sys.* rows', async () => {
    const raw = await readRawCatalog(fakeSession(answers), [S]);
    const { catalog, refused } = buildCatalog(raw, opts);
    expect(catalog.schema).toBe(S);
    expect(catalog.serverVersion).toBe(160000);
    const lines = catalog.tables.find((t) => t.name === 'a]b')!;
    expect(lines.schema).toBeUndefined();
    expect(lines.key).toEqual(['order_id', 'line no']);
    expect(lines.keyIsPrimary).toBe(true);
    expect(lines.keyName).toBe('PK_a]b');
    expect(lines.rowEstimate).toBe(1200);
    expect(lines.totalBytes).toBe(40 * 8192);
    expect(lines.heapBytes).toBe(25 * 8192);

    const byName = new Map(lines.constraints.map((k) => [k.name, k]));
    expect(byName.get('PK_a]b')).toMatchObject({
      kind: 'p',
      definition: 'PRIMARY KEY ("order_id", "line no")',
    });
    expect(byName.get('CK_qty')!.definition).toBe('CHECK ("qty" > 0) NOT VALID');
    expect(byName.get('FK_lines_orders')).toEqual({
      name: 'FK_lines_orders',
      kind: 'f',
      definition: 'FOREIGN KEY ("order_id") REFERENCES "Orders"("id") ON UPDATE NO ACTION ON DELETE CASCADE',
      references: 'Orders',
    });
    expect(byName.has('CK_code')).toBe(false);
    expect(byName.has('CK_off')).toBe(false);
    // Unique over a nullable column: one NULL at most, as on SQL Server.
    expect(lines.indexes).toEqual([
      {
        name: 'ux_open',
        definition:
          'CREATE UNIQUE INDEX "ux_open" ON "a]b" USING btree ("code" DESC) INCLUDE ("note") NULLS NOT DISTINCT WHERE ("deleted_at" IS NULL)',
      },
    ]);

    const col = new Map(lines.columns.map((c) => [c.name, c]));
    expect(col.get('total')).toMatchObject({
      type: 'numeric(21,2)',
      generated: '"price" * "qty"',
      default: null,
    });
    expect(col.get('price')).toMatchObject({ type: 'numeric(10,2)', default: '0', notNull: true });
    expect(col.get('flag')).toMatchObject({ type: 'boolean', default: 'true' });
    expect(col.get('code')).toMatchObject({ type: 'character varying(20)', notNull: false });
    expect(col.get('phone')).toMatchObject({
      type: 'character varying(20)',
      mssql: { type: { name: 'nvarchar', alias: 'dbo.phone', maxLength: 40 }, encoding: 'text' },
    });
    expect(col.has('place')).toBe(false);
    expect(refused).toContainEqual(
      expect.stringMatching(/^column a\]b\.place: type geography is not supported/),
    );
    expect(refused).toContainEqual(
      expect.stringMatching(/^table Orders_History: it is the history table of a system-versioned table/),
    );

    const orders = catalog.tables.find((t) => t.name === 'Orders')!;
    expect(orders.columns[0]).toMatchObject({ name: 'id', type: 'integer', identity: 'd', default: null });
    // A descending identity needs its range: PostgreSQL's default MAXVALUE for it is -1.
    expect(orders.identitySequences).toEqual([
      {
        column: 'id',
        lastValue: '990',
        isCalled: true,
        options: 'START WITH 1000 INCREMENT BY -5 MINVALUE -2147483648 MAXVALUE 2147483647',
      },
    ]);
    expect(orders.columns[1]).toMatchObject({ name: 'created', default: 'LOCALTIMESTAMP' });
    expect(orders.columns[2]).toMatchObject({ name: 'stamp', generated: null });

    const tickets = catalog.tables.find((t) => t.name === 'tickets')!;
    expect(tickets.columns[0]).toMatchObject({ name: 'no', type: 'bigint', identity: 'd' });
    expect(tickets.identitySequences[0]).toMatchObject({
      lastValue: null,
      isCalled: false,
      options: 'START WITH 1 INCREMENT BY 1 MINVALUE -999999999999 MAXVALUE 999999999999',
    });
    expect(tickets.columns[1]!.default).toBe(`nextval('"order no"'::regclass)`);
    expect(tickets.columns.map((c) => c.name)).toEqual(['no', 'seq', 'h', 'id']);
    expect(tickets.columns[3]!.default).toBe('gen_random_uuid()');
    expect(tickets.key).toEqual(['id']);
    expect(tickets.keyIsPrimary).toBe(false);
    expect(tickets.keyName).toBe('uq_id');
    expect(tickets.constraints.find((k) => k.name === 'uq_id')!.definition).toBe('UNIQUE ("id")');
    expect(tickets.indexes[0]!.definition).toBe('CREATE INDEX "ix_seq" ON "tickets" USING btree ("seq")');

    expect(catalog.sequences).toEqual([
      {
        name: 'order no',
        options: 'AS integer INCREMENT BY 1 MINVALUE -2147483648 MAXVALUE 2147483647 START WITH 1 NO CYCLE',
        lastValue: '41',
        isCalled: true,
        ownedBy: null,
      },
    ]);

    const inventory = catalog.objects!.inventory;
    const entry = (kind: string, name: string) => inventory.find((e) => e.kind === kind && e.name === name);
    expect(entry('table', 'a]b')?.status).toBe('migrated');
    expect(entry('sequence', 'order no')?.status).toBe('migrated');
    expect(entry('sequence', 'huge')?.reason).toMatch(/does not fit PostgreSQL's bigint/);
    expect(entry('index', 'ix_place on a]b')?.reason).toMatch(/spatial indexes are not migrated/);
    expect(entry('index', 'ix_code on a]b')?.reason).toMatch(/compares strings/);
    expect(entry('check constraint', 'CK_code on a]b')?.reason).toMatch(/collation/);
    expect(entry('check constraint', 'CK_off on a]b')?.reason).toMatch(/disabled/);
    expect(entry('default', 'a]b.label')?.reason).toMatch(/upper\(\)/);
    expect(entry('computed column', 'Orders.stamp')?.reason).toMatch(/immutabl/);
    expect(entry('foreign key', 'FK_tickets_elsewhere on tickets')?.reason).toMatch(
      /hr\.people, which is not migrated/,
    );
    expect(entry('default', 'tickets.h')?.reason).toMatch(/sequence Sales Dept\.huge is not migrated/);
    expect(entry('column set', 'tickets.extras')?.reason).toMatch(/sparse columns it renders migrate/);
    expect(entry('view', 'v_open')?.status).toBe('unsupported');
    expect(entry('procedure', 'close_orders')?.status).toBe('unsupported');
    expect(entry('trigger', 'trg_audit on a]b')?.status).toBe('unsupported');
    expect(inventory.some((e) => e.name.startsWith('ferry_m1_'))).toBe(false);
    expect(catalog.objects!.comments).toEqual([
      { target: 'TABLE "a]b"', key: 'table a]b', text: 'Order lines' },
      { target: 'COLUMN "a]b"."code"', key: 'table a]b', text: 'Product code' },
    ]);
  });

  it('leaves out tables the selection leaves out, and FKs to them', async () => {
    const raw = await readRawCatalog(fakeSession(answers), [S]);
    const { catalog, refused } = buildCatalog(raw, {
      ...opts,
      select: (_s, t) => t !== 'Orders' && t !== 'Orders_History',
    });
    expect(catalog.tables.map((t) => t.name)).toEqual(['a]b', 'tickets']);
    expect(refused.some((r) => r.includes('Orders_History'))).toBe(false);
    expect(catalog.tables[0]!.constraints.some((k) => k.kind === 'f')).toBe(false);
  });

  it('refuses names PostgreSQL cannot hold and tables ferry cannot read', () => {
    const long = 'x'.repeat(64);
    const { refused } = buildCatalog(
      {
        version: '15.0.2000.5',
        tables: [
          { ...rawTable(S, long) },
          { ...rawTable(S, 'mem'), memoryOptimized: true },
          { ...rawTable(S, 'ledger'), ledgerType: 2 },
          { ...rawTable(S, 'edges'), graph: true },
        ],
        columns: [],
        indexes: [],
        checks: [],
        foreignKeys: [],
        sequences: [],
        others: [],
      },
      opts,
    );
    expect(refused).toEqual([
      `table ${long}: its name is longer than PostgreSQL's 63 bytes`,
      'table mem: it is memory-optimized, which ferry cannot migrate (leave it out with spec.tables.exclude)',
      'table ledger: it is a ledger table, which ferry cannot migrate (leave it out with spec.tables.exclude)',
      'table edges: it is a graph node or edge table, which ferry cannot migrate (leave it out with spec.tables.exclude)',
    ]);
  });

  it('builds a multi-schema catalog: tables carry their schema, FKs across schemas name the target schema', () => {
    const id = (schema: string, tbl: string, name: string) => ({
      schema,
      table: tbl,
      name,
      type: {
        name: 'int',
        alias: null,
        maxLength: 4,
        precision: 10,
        scale: 0,
        collation: null,
        codePage: null,
      },
      nullable: false,
      identity: null,
      computed: null,
      default: null,
      columnSet: false,
      comment: null,
    });
    const { catalog } = buildCatalog(
      {
        version: '16.0.1000.6',
        tables: [rawTable('dbo', 'invoice_lines'), rawTable('billing', 'invoices')],
        columns: [id('dbo', 'invoice_lines', 'invoice_id'), id('billing', 'invoices', 'id')],
        indexes: [],
        checks: [],
        foreignKeys: [
          {
            schema: 'dbo',
            table: 'invoice_lines',
            name: 'fk_invoice',
            referencedSchema: 'billing',
            referencedTable: 'invoices',
            columns: ['invoice_id'],
            referencedColumns: ['id'],
            deleteAction: 'SET_NULL',
            updateAction: 'CASCADE',
            disabled: false,
            notTrusted: true,
          },
        ],
        sequences: [],
        others: [],
      },
      {
        schemas: [
          { source: 'dbo', target: 'app' },
          { source: 'billing', target: 'billing_v2' },
        ],
        typeMap: [],
      },
    );
    expect(catalog.tables.map((x) => [x.schema, x.name])).toEqual([
      ['dbo', 'invoice_lines'],
      ['billing', 'invoices'],
    ]);
    expect(catalog.tables[0]!.constraints[0]).toEqual({
      name: 'fk_invoice',
      kind: 'f',
      definition:
        'FOREIGN KEY ("invoice_id") REFERENCES "billing_v2"."invoices"("id") ON UPDATE CASCADE ON DELETE SET NULL NOT VALID',
      references: 'billing.invoices',
    });
    expect(catalog.moreSchemas?.map((m) => m.schema)).toEqual(['billing']);
    expect(catalog.moreSchemas![0]!.objects!.inventory).toEqual([
      { kind: 'table', name: 'invoices', status: 'migrated' },
    ]);
    expect(catalog.creationOrder).toEqual(['billing', 'dbo']);
  });

  it('reads identities and sequences again for the cutover', async () => {
    const session = fakeSession([
      ["SERVERPROPERTY('ProductVersion')", [{ v: '14.0.3456.2' }]],
      ['FROM sys.identity_columns i', [{ schema: S, tbl: 'Orders', col: 'id', last_value: '-15' }]],
      [
        'FROM sys.sequences q',
        [{ schema: S, name: 'order no', type: 'int', current: '77', last_used: '77' }],
      ],
    ]);
    const raw = await readRawCatalog(fakeSession(answers), [S]);
    const { catalog } = buildCatalog(raw, opts);
    const states = await readSequenceStates(session, [S]);
    expect(session.calls.slice(1).every((c) => c.params.length === 1 && c.params[0] === S)).toBe(true);
    const after = withSequenceStates(catalog, states);
    expect(after.tables.find((t) => t.name === 'Orders')!.identitySequences[0]).toMatchObject({
      lastValue: '-15',
      isCalled: true,
    });
    expect(after.sequences[0]).toMatchObject({ name: 'order no', lastValue: '77', isCalled: true });
    // Tables without an identity read again keep theirs.
    expect(after.tables.find((t) => t.name === 'tickets')!.identitySequences[0]!.lastValue).toBeNull();
  });
});
