// The pure parts of migrating partitioned tables and inheritance trees: selection, table order,
// DDL, which tables hold rows (plan, copy, validation) and which need a key.
import { describe, expect, it } from 'vitest';
import type { Settings } from '../api/settings.ts';
import type { Client } from '../db/connect.ts';
import { buildPlan } from '../plan/plan.ts';
import { completeTrees, partitionRoots, selectTables, type TreeNode } from '../plan/select.ts';
import { chunkCopy } from '../transfer/table-copy.ts';
import { copyOutSql } from '../transfer/pipe.ts';
import { measureSql, validationUnits } from '../validate/compare.ts';
import { keySteps, postLoadSteps, preLoadDdl, tablesDdl } from './ddl.ts';
import { parentsFirst, recordsRows, rowsOf } from './relations.ts';
import { column, table as baseTable } from '../../test/support/catalog.ts';
import type { Catalog, Table } from './types.ts';

// Tables that hold a page of rows, keyed by nothing unless a test says so.
const table = (name: string, over: Partial<Table> = {}): Table =>
  baseTable(name, {
    columns: [column('id', { notNull: true }), column('at', { type: 'date', notNull: true })],
    key: [],
    keyIsPrimary: false,
    rowEstimate: 10,
    totalBytes: 8192,
    heapBytes: 8192,
    pages: 1,
    ...over,
  });

const part = (name: string, parent: string, bound: string, over: Partial<Table> = {}) =>
  table(name, { partitionOf: { parent, bound }, ...over });

// A range-partitioned root with a DEFAULT partition and a list-sub-partitioned partition, and an
// inheritance tree; listed children first, as no catalog order may be relied on.
const TREES: Table[] = [
  part('m_2025_eu', 'm_2025', "FOR VALUES IN ('eu')"),
  part('m_2025', 'm', "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')", { partitionBy: 'LIST (region)' }),
  part('m_other', 'm', 'DEFAULT'),
  table('m', {
    partitionBy: 'RANGE (at)',
    key: ['id', 'at'],
    keyIsPrimary: true,
    keyName: 'm_pkey',
    constraints: [{ name: 'm_pkey', kind: 'p', definition: 'PRIMARY KEY (id, at)', references: null }],
    indexes: [{ name: 'm_by_at', definition: 'CREATE INDEX m_by_at ON ONLY m USING btree (at)' }],
  }),
  table('kid', {
    inherits: ['base'],
    columns: [
      column('id', { notNull: true }),
      column('k', { type: 'text' }),
      column('added', { type: 'date' }),
    ],
  }),
  table('base', { columns: [column('id', { notNull: true }), column('added', { type: 'date' })] }),
];

const catalog = (tables: Table[]): Catalog => ({
  schema: 'src',
  serverVersion: 15,
  types: [],
  sequences: [],
  tables,
});

describe('parentsFirst', () => {
  it('puts every parent before its partitions and children, keeping the order otherwise', () => {
    expect(parentsFirst(TREES).map((t) => t.name)).toEqual([
      'm',
      'm_2025',
      'm_2025_eu',
      'm_other',
      'base',
      'kid',
    ]);
  });
});

describe('tablesDdl', () => {
  it('creates roots with their partition key, partitions of their parent, children with INHERIT', () => {
    expect(tablesDdl(TREES, 'dst')).toEqual([
      'CREATE TABLE "dst"."m" (\n  "id" integer NOT NULL,\n  "at" date NOT NULL\n) PARTITION BY RANGE (at)',
      `CREATE TABLE "dst"."m_2025" PARTITION OF "dst"."m" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (region)`,
      `CREATE TABLE "dst"."m_2025_eu" PARTITION OF "dst"."m_2025" FOR VALUES IN ('eu')`,
      'CREATE TABLE "dst"."m_other" PARTITION OF "dst"."m" DEFAULT',
      'CREATE TABLE "dst"."base" (\n  "id" integer NOT NULL,\n  "added" date\n)',
      // The child keeps its own column order (added to the parent after the child existed: last).
      'CREATE TABLE "dst"."kid" (\n  "id" integer NOT NULL,\n  "k" text,\n  "added" date\n)',
      'ALTER TABLE "dst"."kid" INHERIT "dst"."base"',
    ]);
  });

  it("sets what a partition holds itself: a default of its own, NOT NULL, no default where the parent's has one", () => {
    const root = table('r', {
      partitionBy: 'LIST (id)',
      columns: [column('id'), column('v', { default: '1' }), column('w'), column('g', { identity: 'a' })],
    });
    const p = part('r1', 'r', 'FOR VALUES IN (1)', {
      columns: [
        column('id', { notNull: true }),
        column('v'),
        column('w', { default: '7' }),
        column('g', { notNull: true }),
      ],
    });
    expect(tablesDdl([root, p], 'dst').slice(1)).toEqual([
      'CREATE TABLE "dst"."r1" PARTITION OF "dst"."r" FOR VALUES IN (1)',
      'ALTER TABLE "dst"."r1" ALTER COLUMN "id" SET NOT NULL',
      'ALTER TABLE "dst"."r1" ALTER COLUMN "v" DROP DEFAULT',
      'ALTER TABLE "dst"."r1" ALTER COLUMN "w" SET DEFAULT 7',
    ]);
  });

  it("creates a partition whose columns lie in another order than its parent's on its own, then attaches it", () => {
    const root = table('r', {
      partitionBy: 'RANGE (at)',
      columns: [
        column('id', { identity: 'a', notNull: true }),
        column('at', { type: 'date', notNull: true }),
      ],
    });
    const p = part('r_old', 'r', "FOR VALUES FROM ('2000-01-01') TO ('2001-01-01')", {
      columns: [
        column('at', { type: 'date', notNull: true }),
        column('id', { identity: 'a', notNull: true }),
      ],
    });
    expect(tablesDdl([root, p], 'dst').slice(1)).toEqual([
      'CREATE TABLE "dst"."r_old" (\n  "at" date NOT NULL,\n  "id" integer NOT NULL\n)',
      `ALTER TABLE "dst"."r" ATTACH PARTITION "dst"."r_old" FOR VALUES FROM ('2000-01-01') TO ('2001-01-01')`,
    ]);
  });

  it('refuses a partition without its parent', () => {
    expect(() => tablesDdl([part('p', 'gone', 'DEFAULT')], 'dst')).toThrow(
      'partition p without its parent gone',
    );
  });

  it('is what preLoadDdl creates', () => {
    expect(preLoadDdl(catalog(TREES), 'dst').slice(1)).toEqual(tablesDdl(TREES, 'dst'));
  });
});

describe('post-load steps on partitioned tables', () => {
  it("builds a root's index on the root (not ON ONLY), so it reaches every partition", () => {
    const steps = postLoadSteps(catalog(TREES), 'dst');
    expect(steps.find((s) => s.name === 'index:"m_by_at"')?.sql).toBe(
      'CREATE INDEX m_by_at ON m USING btree (at)',
    );
    expect(steps.find((s) => s.name === 'pk:"m"."m_pkey"')?.sql).toBe(
      'ALTER TABLE "dst"."m" ADD CONSTRAINT "m_pkey" PRIMARY KEY (id, at)',
    );
  });

  it("keeps ON ONLY of a plain table's index definition untouched (no partitioned table, no rewrite)", () => {
    const t = table('t', {
      indexes: [{ name: 'odd', definition: 'CREATE INDEX odd ON t USING btree (id)' }],
    });
    expect(postLoadSteps(catalog([t]), 'dst')[0]!.sql).toBe('CREATE INDEX odd ON t USING btree (id)');
  });

  it("builds a partition's key through its root: no key step of its own", () => {
    const withKey = TREES.map((t) =>
      t.partitionOf ? { ...t, key: ['id', 'at'], keyIsPrimary: true, keyName: `${t.name}_pkey` } : t,
    );
    expect(keySteps(catalog(withKey), 'dst').map((s) => s.name)).toEqual(['pk:"m"."m_pkey"']);
  });
});

describe('selection', () => {
  const nodes: TreeNode[] = [
    { name: 'm' },
    { name: 'm_2025', partitionOf: 'm' },
    { name: 'm_2025_eu', partitionOf: 'm_2025' },
    { name: 'm_other', partitionOf: 'm' },
    { name: 'base' },
    { name: 'kid', inherits: ['base'] },
    { name: 'plain' },
  ];
  const roots = partitionRoots(nodes);
  const tops = ['base', 'kid', 'm', 'plain'];

  it('maps each partition to the root of its tree', () => {
    expect(Object.fromEntries(roots)).toEqual({ m_2025: 'm', m_2025_eu: 'm', m_other: 'm' });
  });

  it('applies the patterns to tables that are not partitions', () => {
    expect(selectTables(tops, ['*'], ['plain'], roots)).toEqual(['base', 'kid', 'm']);
    // Excluding the root takes its partitions out with it.
    expect(selectTables(tops, ['*'], ['m', 'm_*'], roots)).toEqual(['base', 'kid', 'plain']);
  });

  it('refuses excluding a partition of a selected root', () => {
    expect(() => selectTables(tops, ['*'], ['m_2025*'], roots)).toThrow(
      'spec.tables.exclude: pattern "m_2025*" excludes partition "m_2025" of "m", partition "m_2025_eu" of "m"; ' +
        'a partitioned table moves whole: exclude its root, or nothing of it',
    );
  });

  it('refuses including a partition alone', () => {
    expect(() => selectTables(tops, ['m_other'], [], roots)).toThrow(
      'spec.tables.include: pattern "m_other" matches only partitions ("m_other" of "m"); a partition moves with its partitioned table: include its root',
    );
  });

  it('takes a selected root with its whole partition tree', () => {
    expect(completeTrees(nodes, ['m', 'plain'])).toEqual(['m', 'plain', 'm_2025', 'm_2025_eu', 'm_other']);
  });

  it('refuses a partition named alone, and an inheritance tree cut in two, naming both tables', () => {
    expect(() => completeTrees(nodes, ['m_2025_eu'])).toThrow(
      'table "m_2025_eu" is a partition of "m": a partition moves with its partitioned table; select "m"',
    );
    expect(() => completeTrees(nodes, ['kid'])).toThrow(
      'table "kid" inherits from "base", which is not selected: select both or neither',
    );
    expect(() => completeTrees(nodes, ['base'])).toThrow(
      'table "base" is selected but its inheritance child "kid" is not: select both or neither',
    );
    expect(completeTrees(nodes, ['base', 'kid'])).toEqual(['base', 'kid']);
  });
});

describe('moving rows', () => {
  const settings = {
    splitAboveBytes: 1 << 30,
    chunkRows: 1000,
    mode: 'Standard',
    tableGroups: 2,
  } as Settings;
  const noQueries = {
    query: () => {
      throw new Error('no query expected: every table fits one chunk');
    },
  } as unknown as Client;

  it('plans chunks for tables that hold rows only: each partition is a chunk, the roots none', async () => {
    const plan = await buildPlan(noQueries, catalog(TREES), settings);
    const tables = plan.groups.flatMap((g) => g.chunks.map((c) => c.table)).sort();
    expect(tables).toEqual(['base', 'kid', 'm_2025_eu', 'm_other']);
    expect(plan.estRows).toBe(40);
  });

  it('validates leaves only', () => {
    expect(validationUnits(catalog(TREES), undefined).map((u) => u.table)).toEqual([
      'm_2025_eu',
      'm_other',
      'kid',
      'base',
    ]);
  });

  it("reads a table's own rows: ONLY, but a partitioned table through its partitions", () => {
    const base = TREES.find((t) => t.name === 'base')!;
    const root = TREES.find((t) => t.name === 'm')!;
    expect(rowsOf('s', base)).toBe('ONLY "s"."base"');
    expect(rowsOf('s', root)).toBe('"s"."m"');
    expect(measureSql('s', base, null, 'Count')).toBe(
      'SELECT count(*)::text AS rows, NULL::text AS checksum FROM ONLY "s"."base" x',
    );
    const chunk = { id: 'base#1/2', table: 'base', estRows: 1, estBytes: 1 };
    const ranged = chunkCopy(
      catalog(TREES),
      { ...chunk, range: { kind: 'ctid', loPage: null, hiPage: 5 } },
      { schemas: [{ source: 'src', target: 'd' }] },
      'p',
    );
    expect(copyOutSql(ranged)).toBe(
      `COPY (SELECT "id", "added" FROM ONLY "src"."base" WHERE ctid < '(5,0)'::tid) TO STDOUT (FORMAT binary)`,
    );
    // COPY t TO reads t's own rows only; a partition is copied into the target partition directly.
    const whole = chunkCopy(
      catalog(TREES),
      { ...chunk, id: 'm_other', table: 'm_other', range: null },
      { schemas: [{ source: 'src', target: 'd' }] },
      'p',
    );
    expect(copyOutSql(whole)).toBe('COPY "src"."m_other" ("id", "at") TO STDOUT (FORMAT binary)');
    expect(whole.targetTable).toBe('"d"."m_other"');
  });

  it("records changes of roots and plain tables (a partition's go through its root)", () => {
    expect(TREES.filter(recordsRows).map((t) => t.name)).toEqual(['m', 'kid', 'base']);
  });
});
