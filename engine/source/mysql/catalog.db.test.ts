// The catalog of a real MariaDB database: keys, constraints, defaults, identity, generated columns,
// indexes, foreign keys and comments become PostgreSQL's, and what cannot is named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, mysqlRun, pgConnect, startMysqlPair, type MysqlPair } from '../../../test/support/mysql.ts';
import type { Extracted } from './catalog.ts';

let pair: MysqlPair;
let shop: Extracted;

const SHOP = `
CREATE DATABASE shop; USE shop;
CREATE TABLE parents (id int unsigned AUTO_INCREMENT PRIMARY KEY, code varchar(10) NOT NULL, UNIQUE KEY uk_code (code))
  COMMENT 'the parents';
CREATE TABLE children (
  id bigint NOT NULL AUTO_INCREMENT,
  pid int unsigned NOT NULL COMMENT 'its parent',
  s varchar(20) DEFAULT 'it''s a\\\\b',
  n decimal(5,2) DEFAULT 1.50,
  b tinyint(1) NOT NULL DEFAULT 1,
  bt bit(3) DEFAULT b'101',
  d datetime(3) DEFAULT current_timestamp(3) ON UPDATE current_timestamp(3),
  e enum('x','y') DEFAULT 'x',
  st set('a','b') DEFAULT 'a,b',
  u varchar(36) DEFAULT uuid(),
  dd date DEFAULT curdate(),
  ex int DEFAULT (1 + 2),
  g decimal(7,2) AS (n * 2 + 1) STORED,
  v int AS (ex DIV 2) VIRTUAL,
  name varchar(100),
  PRIMARY KEY (id, pid),
  KEY idx_name (name(10)),
  KEY idx_multi (pid DESC, n),
  FULLTEXT KEY ft (name),
  CONSTRAINT fk_parent FOREIGN KEY (pid) REFERENCES parents (id) ON DELETE CASCADE ON UPDATE RESTRICT,
  CONSTRAINT chk_n CHECK (n > 0 AND n < 100),
  CONSTRAINT chk_b CHECK (b IN (0, 1)),
  CONSTRAINT chk_odd CHECK (n / 2 > 0)
) AUTO_INCREMENT = 42;
CREATE TABLE loose (a int NOT NULL, b varchar(5), UNIQUE KEY ab (a)) ENGINE=InnoDB;
CREATE TABLE heap (a int) ENGINE=MyISAM;
CREATE TABLE places (id int PRIMARY KEY, p point NOT NULL, area polygon, SPATIAL KEY where_p (p));
CREATE VIEW v_parents AS SELECT id FROM parents;
INSERT INTO parents (code) VALUES ('a'), ('b');
INSERT INTO children (pid, name) VALUES (1, 'one'), (2, 'two');
`;

beforeAll(async () => {
  pair = await startMysqlPair();
  await mysqlRun(pair.my, SHOP);
  shop = await migrate(pair, 'shop', 'shop', { select: (t) => t !== 'heap' && t !== 'places' });
}, 120_000);
afterAll(async () => pair?.stop());

const tableOf = (name: string) => shop.catalog.tables.find((t) => t.name === name)!;

describe('MySQL catalog', () => {
  it('names what no option can move (non-transactional engines); spatial columns need PostGIS', async () => {
    const { buildCatalog, readRawCatalog } = await import('./catalog.ts');
    const { createConnection } = await import('mysql2/promise');
    const c = await createConnection(pair.my.connection('shop'));
    try {
      const all = buildCatalog(await readRawCatalog(c, 'shop'), {
        typeMap: [],
        conversion: { zeroDates: 'Refuse', invalidCharacters: 'Refuse' },
      });
      expect(all.refused).toEqual([
        'table heap: its engine MyISAM has no transactions, so ferry cannot read it consistently (ALTER TABLE heap ENGINE=InnoDB, or leave it out with spec.tables.exclude)',
      ]);
      // Spatial columns become PostGIS geometries (Checks requires the extension), the R-tree a GiST index.
      const places = all.catalog.tables.find((t) => t.name === 'places')!;
      expect(places.columns.map((x) => [x.name, x.type, x.notNull])).toEqual([
        ['id', 'integer', true],
        ['p', 'public.geometry(Point)', true],
        ['area', 'public.geometry(Polygon)', false],
      ]);
      expect(places.indexes).toEqual([
        { name: 'places_where_p', definition: 'CREATE INDEX "places_where_p" ON "places" USING gist ("p")' },
      ]);
      expect(all.catalog.objects!.extensions).toEqual([
        { name: 'postgis', schema: 'public', neededBy: 'the spatial columns places.p, places.area' },
      ]);
    } finally {
      await c.end();
    }
    expect(shop.refused).toEqual([]);
    // Without a spatial column selected, no PostGIS.
    expect(shop.catalog.objects!.extensions).toEqual([]);
  });

  it('keys, identity with its next value, defaults and generated columns', () => {
    const t = tableOf('children');
    expect([t.key, t.keyIsPrimary, t.keyName]).toEqual([['id', 'pid'], true, 'children_pkey']);
    expect(t.identitySequences).toEqual([{ column: 'id', lastValue: '43', isCalled: true }]);
    const cols = Object.fromEntries(
      t.columns.map((c) => [c.name, [c.type, c.notNull, c.default, c.identity, c.generated]]),
    );
    expect(cols).toEqual({
      id: ['bigint', true, null, 'd', null],
      pid: ['bigint', true, null, '', null],
      s: ['character varying(20)', false, `'it''s a\\b'`, '', null],
      n: ['numeric(5,2)', false, '1.50', '', null],
      b: ['boolean', true, 'true', '', null],
      bt: ['bit(3)', false, "B'101'", '', null],
      d: ['timestamp(3) without time zone', false, 'CURRENT_TIMESTAMP(3)', '', null],
      e: ['"children_e"', false, "'x'", '', null],
      st: ['text[]', false, `'{"a","b"}'`, '', null],
      u: ['character varying(36)', false, null, '', null],
      dd: ['date', false, 'CURRENT_DATE', '', null],
      ex: ['integer', false, '(1 + 2)', '', null],
      g: ['numeric(7,2)', false, null, '', '"n" * 2 + 1'],
      v: ['integer', false, null, '', null],
      name: ['character varying(100)', false, null, '', null],
    });
    // A table without a primary key is keyed by a unique NOT NULL key.
    expect([tableOf('loose').key, tableOf('loose').keyIsPrimary, tableOf('loose').keyName]).toEqual([
      ['a'],
      false,
      'loose_ab',
    ]);
  });

  it('lists what it leaves out, each with its reason', () => {
    const unsupported = shop.catalog.objects!.inventory.filter((e) => e.status === 'unsupported');
    expect(unsupported.map((e) => `${e.kind} ${e.name}: ${e.reason}`)).toEqual([
      'on update children.d: on update current_timestamp(3): PostgreSQL needs a trigger for it (skipped: the column keeps its values, not the behaviour)',
      'default children.u: default uuid(): function uuid() has no exact PostgreSQL twin (skipped: the column has no default)',
      'generated column children.v: `ex` DIV 2: DIV has no exact PostgreSQL twin (skipped: its values are copied into a plain column)',
      'index ft on children: FULLTEXT indexes are not migrated',
      'index idx_name on children: prefix parts name(10): PostgreSQL has no prefix indexes',
      'check constraint chk_b on children: `b` in (0,1): column b becomes boolean on PostgreSQL',
      'check constraint chk_odd on children: `n` / 2 > 0: operator / has no exact PostgreSQL twin',
      'view v_parents: views of a MySQL source are not migrated',
    ]);
  });

  it('builds the constraints, indexes, foreign keys and comments on PostgreSQL', async () => {
    const c = await pgConnect(pair.pg);
    try {
      const { rows: constraints } = await c.query(
        `SELECT conrelid::regclass::text AS t, conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
          WHERE connamespace = 'shop'::regnamespace AND contype <> 'n' ORDER BY 1, 2`,
      );
      expect(constraints).toEqual([
        { t: 'shop.children', name: 'children_pkey', def: 'PRIMARY KEY (id, pid)' },
        { t: 'shop.children', name: 'children_st_check', def: "CHECK ((st <@ ARRAY['a'::text, 'b'::text]))" },
        { t: 'shop.children', name: 'chk_n', def: 'CHECK (((n > (0)::numeric) AND (n < (100)::numeric)))' },
        {
          t: 'shop.children',
          name: 'fk_parent',
          def: 'FOREIGN KEY (pid) REFERENCES shop.parents(id) ON UPDATE RESTRICT ON DELETE CASCADE',
        },
        { t: 'shop.loose', name: 'loose_ab', def: 'UNIQUE (a)' },
        { t: 'shop.parents', name: 'parents_pkey', def: 'PRIMARY KEY (id)' },
        { t: 'shop.parents', name: 'parents_uk_code', def: 'UNIQUE (code)' },
      ]);
      const { rows: indexes } = await c.query(
        `SELECT indexdef FROM pg_indexes WHERE schemaname = 'shop' AND indexname = 'children_idx_multi'`,
      );
      expect(indexes).toEqual([
        { indexdef: 'CREATE INDEX children_idx_multi ON shop.children USING btree (pid DESC, n)' },
      ]);
      const { rows: data } = await c.query(`SELECT id, pid, g, b, bt, e, st FROM shop.children ORDER BY id`);
      expect(data).toEqual([
        { id: '42', pid: '1', g: '4.00', b: 't', bt: '101', e: 'x', st: '{a,b}' },
        { id: '43', pid: '2', g: '4.00', b: 't', bt: '101', e: 'x', st: '{a,b}' },
      ]);
      const { rows: comments } = await c.query(
        `SELECT obj_description('shop.parents'::regclass, 'pg_class') AS t, col_description('shop.children'::regclass, 2) AS c`,
      );
      expect(comments).toEqual([{ t: 'the parents', c: 'its parent' }]);
      // The identity continues after the source's auto-increment.
      const { rows: next } = await c.query(`INSERT INTO shop.children (pid) VALUES (1) RETURNING id`);
      expect(next).toEqual([{ id: '44' }]);
    } finally {
      await c.end();
    }
  });
});
