// Reading the source catalog from pg_catalog. Runs in one read-only transaction with search_path set
// to the source schema alone, so that format_type, pg_get_expr, pg_get_indexdef and
// pg_get_constraintdef render the schema's own objects unqualified: the definitions then replay into
// any target schema. Skipped on purpose (see the README): partitioned tables, inheritance, triggers,
// rules, policies, grants, comments, and types that live in other schemas (extensions).
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/ident.ts';
import type { Catalog, Column, Constraint, Index, Sequence, Table, UserType } from './types.ts';

const FIRST_USER_OID = 16384;

interface TableRow {
  oid: number;
  name: string;
  reltuples: number;
  relpages: number;
  total: string;
  heap: string;
}

async function tables(c: pg.ClientBase, schema: string, only: string[] | undefined): Promise<TableRow[]> {
  const { rows } = await c.query<TableRow>(
    `SELECT c.oid::int AS oid, c.relname AS name, c.reltuples::float8 AS reltuples, c.relpages::int AS relpages,
            pg_total_relation_size(c.oid)::text AS total, pg_relation_size(c.oid)::text AS heap
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND ($2::text[] IS NULL OR c.relname = ANY($2))
      ORDER BY c.relname`,
    [schema, only ?? null],
  );
  return rows;
}

interface ColumnRow {
  rel: number;
  name: string;
  type: string;
  typeoid: number;
  elemoid: number;
  notnull: boolean;
  def: string | null;
  identity: '' | 'a' | 'd';
  generated: string;
  coll: string | null;
}

async function columns(c: pg.ClientBase, oids: number[]): Promise<ColumnRow[]> {
  const { rows } = await c.query<ColumnRow>(
    `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.atttypid::int AS typeoid, t.typelem::int AS elemoid, a.attnotnull AS notnull,
            pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity::text AS identity, a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                 THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(k.collname)
                         FROM pg_collation k JOIN pg_namespace n ON n.oid = k.collnamespace WHERE k.oid = a.attcollation) END AS coll
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  return rows;
}

function toColumn(r: ColumnRow): Column {
  const generated = r.generated === 's' ? r.def : null;
  return {
    name: r.name,
    type: r.type,
    typeOid: r.typeoid,
    builtinType: r.typeoid < FIRST_USER_OID && (r.elemoid === 0 || r.elemoid < FIRST_USER_OID),
    notNull: r.notnull,
    default: generated === null && r.identity === '' ? r.def : null,
    identity: r.identity,
    generated,
    collation: r.coll,
  };
}

interface ConstraintRow extends Constraint {
  rel: number;
}

async function constraints(c: pg.ClientBase, oids: number[]): Promise<ConstraintRow[]> {
  const { rows } = await c.query<ConstraintRow>(
    `SELECT k.conrelid::int AS rel, k.conname AS name, k.contype::text AS kind, pg_get_constraintdef(k.oid) AS definition,
            (SELECT r.relname FROM pg_class r WHERE r.oid = k.confrelid) AS "references"
       FROM pg_constraint k
      WHERE k.conrelid = ANY($1) AND k.contype IN ('p', 'u', 'c', 'f', 'x') AND k.conislocal
      ORDER BY k.conrelid, k.contype, k.conname`,
    [oids],
  );
  return rows;
}

async function indexes(c: pg.ClientBase, oids: number[]): Promise<(Index & { rel: number })[]> {
  const { rows } = await c.query<Index & { rel: number }>(
    `SELECT i.indrelid::int AS rel, x.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
      WHERE i.indrelid = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                          AND k.contype IN ('p', 'u', 'x'))
      ORDER BY i.indrelid, x.relname`,
    [oids],
  );
  return rows;
}

/** The primary key, else the best unique index over NOT NULL columns (no predicate, no expressions). */
async function keys(
  c: pg.ClientBase,
  oids: number[],
): Promise<Map<number, { columns: string[]; primary: boolean }>> {
  const { rows } = await c.query<{ rel: number; cols: string[]; primary: boolean }>(
    `SELECT DISTINCT ON (i.indrelid) i.indrelid::int AS rel, i.indisprimary AS primary,
            array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS cols
       FROM pg_index i
      WHERE i.indrelid = ANY($1) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
        AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(attnum) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                         WHERE NOT a.attnotnull)
      ORDER BY i.indrelid, i.indisprimary DESC, i.indnatts, i.indexrelid`,
    [oids],
  );
  return new Map(rows.map((r) => [r.rel, { columns: r.cols, primary: r.primary }]));
}

async function sequenceState(
  c: pg.ClientBase,
  qualifiedName: string,
): Promise<{ lastValue: string | null; isCalled: boolean }> {
  const { rows } = await c.query<{ last: string; called: boolean }>(
    `SELECT last_value::text AS last, is_called AS called FROM ${qualifiedName}`,
  );
  const r = rows[0]!;
  return { lastValue: r.last, isCalled: r.called };
}

async function identitySequences(
  c: pg.ClientBase,
  schema: string,
  t: Table,
): Promise<Table['identitySequences']> {
  const out: Table['identitySequences'] = [];
  for (const col of t.columns.filter((x) => x.identity !== '')) {
    const { rows } = await c.query<{ seq: string }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [
      `${quoteIdent(schema)}.${quoteIdent(t.name)}`,
      col.name,
    ]);
    const seq = rows[0]?.seq;
    if (seq) out.push({ column: col.name, ...(await sequenceState(c, seq)) });
  }
  return out;
}

/** Serial and free-standing sequences the selected tables own or use in a default. */
async function sequences(c: pg.ClientBase, schema: string, oids: number[]): Promise<Sequence[]> {
  const { rows } = await c.query<{
    name: string;
    type: string;
    inc: string;
    min: string;
    max: string;
    start: string;
    cache: string;
    cycle: boolean;
    owner_table: string | null;
    owner_column: string | null;
  }>(
    `SELECT s.relname AS name, format_type(q.seqtypid, NULL) AS type, q.seqincrement::text AS inc, q.seqmin::text AS min,
            q.seqmax::text AS max, q.seqstart::text AS start, q.seqcache::text AS cache, q.seqcycle AS cycle,
            o.relname AS owner_table, oa.attname AS owner_column
       FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace JOIN pg_sequence q ON q.seqrelid = s.oid
       LEFT JOIN pg_depend od ON od.classid = 'pg_class'::regclass AND od.objid = s.oid AND od.deptype = 'a'
                             AND od.refclassid = 'pg_class'::regclass
       LEFT JOIN pg_class o ON o.oid = od.refobjid
       LEFT JOIN pg_attribute oa ON oa.attrelid = od.refobjid AND oa.attnum = od.refobjsubid
      WHERE n.nspname = $1 AND s.relkind = 'S'
        AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.objid = s.oid AND i.deptype = 'i')
        AND (od.refobjid = ANY($2) OR EXISTS (
              SELECT 1 FROM pg_depend u JOIN pg_attrdef ad ON u.classid = 'pg_attrdef'::regclass AND u.objid = ad.oid
               WHERE u.refobjid = s.oid AND ad.adrelid = ANY($2)))
      ORDER BY s.relname`,
    [schema, oids],
  );
  const out: Sequence[] = [];
  for (const r of rows) {
    const options =
      `AS ${r.type} INCREMENT BY ${r.inc} MINVALUE ${r.min} MAXVALUE ${r.max} START WITH ${r.start} CACHE ${r.cache}` +
      (r.cycle ? ' CYCLE' : ' NO CYCLE');
    out.push({
      name: r.name,
      options,
      ...(await sequenceState(c, `${quoteIdent(schema)}.${quoteIdent(r.name)}`)),
      ownedBy: r.owner_table && r.owner_column ? { table: r.owner_table, column: r.owner_column } : null,
    });
  }
  return out;
}

/** Enums, domains and composite types of the schema that the selected columns use, dependencies first. */
async function userTypes(c: pg.ClientBase, schema: string, typeOids: number[]): Promise<UserType[]> {
  const { rows } = await c.query<{
    oid: number;
    name: string;
    typtype: string;
    base: string | null;
    notnull: boolean;
    def: string | null;
    coll: string | null;
  }>(
    `WITH RECURSIVE used(oid) AS (
       SELECT unnest($2::oid[])
       UNION
       SELECT x.oid FROM used u JOIN pg_type t ON t.oid = u.oid
        CROSS JOIN LATERAL (
          SELECT t.typelem WHERE t.typelem <> 0
          UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0
          UNION ALL SELECT a.atttypid FROM pg_attribute a
                     WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) x(oid))
     SELECT t.oid::int AS oid, t.typname AS name, t.typtype::text AS typtype,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
            t.typnotnull AS notnull, t.typdefault AS def,
            CASE WHEN t.typcollation <> 0 AND t.typcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype)
                 THEN (SELECT quote_ident(k.collname) FROM pg_collation k WHERE k.oid = t.typcollation) END AS coll
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN used u ON u.oid = t.oid
      WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'c')
      ORDER BY t.oid`,
    [schema, typeOids],
  );
  const out: { rank: number; type: UserType }[] = [];
  for (const r of rows) {
    const name = quoteIdent(r.name);
    if (r.typtype === 'e') {
      const { rows: labels } = await c.query<{ l: string }>(
        'SELECT enumlabel AS l FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder',
        [r.oid],
      );
      out.push({
        rank: 0,
        type: {
          name: r.name,
          definition: `CREATE TYPE ${name} AS ENUM (${labels.map((x) => quoteLiteral(x.l)).join(', ')})`,
        },
      });
    } else if (r.typtype === 'c') {
      const { rows: attrs } = await c.query<{ n: string; t: string }>(
        `SELECT a.attname AS n, format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid
          WHERE t.oid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [r.oid],
      );
      out.push({
        rank: 2,
        type: {
          name: r.name,
          definition: `CREATE TYPE ${name} AS (${attrs.map((a) => `${quoteIdent(a.n)} ${a.t}`).join(', ')})`,
        },
      });
    } else {
      const { rows: checks } = await c.query<{ n: string; d: string }>(
        "SELECT conname AS n, pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE contypid = $1 AND contype = 'c' ORDER BY conname",
        [r.oid],
      );
      const parts = [`CREATE DOMAIN ${name} AS ${r.base}`];
      if (r.coll) parts.push(`COLLATE ${r.coll}`);
      if (r.def !== null) parts.push(`DEFAULT ${r.def}`);
      if (r.notnull) parts.push('NOT NULL');
      for (const k of checks) parts.push(`CONSTRAINT ${quoteIdent(k.n)} ${k.d}`);
      out.push({ rank: 1, type: { name: r.name, definition: parts.join(' ') } });
    }
  }
  return out.sort((a, b) => a.rank - b.rank).map((x) => x.type);
}

export async function extractCatalog(c: pg.ClientBase, schema: string, only?: string[]): Promise<Catalog> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
    const { rows: v } = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    const rels = await tables(c, schema, only);
    const oids = rels.map((r) => r.oid);
    const [cols, cons, idx, key] = [
      await columns(c, oids),
      await constraints(c, oids),
      await indexes(c, oids),
      await keys(c, oids),
    ];
    const result: Table[] = [];
    for (const r of rels) {
      const t: Table = {
        name: r.name,
        columns: cols.filter((x) => x.rel === r.oid).map(toColumn),
        key: key.get(r.oid)?.columns ?? [],
        keyIsPrimary: key.get(r.oid)?.primary ?? false,
        constraints: cons.filter((x) => x.rel === r.oid).map(({ rel: _rel, ...k }) => k),
        indexes: idx.filter((x) => x.rel === r.oid).map(({ rel: _rel, ...i }) => i),
        identitySequences: [],
        rowEstimate: Math.max(0, Math.round(r.reltuples)),
        totalBytes: Number(r.total),
        heapBytes: Number(r.heap),
        pages: r.relpages,
      };
      t.identitySequences = await identitySequences(c, schema, t);
      result.push(t);
    }
    const catalog: Catalog = {
      schema,
      serverVersion: Math.floor(Number(v[0]!.v) / 10000),
      types: await userTypes(c, schema, [...new Set(cols.map((x) => x.typeoid))]),
      sequences: await sequences(c, schema, oids),
      tables: result,
    };
    await c.query('COMMIT');
    return catalog;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The catalog with every sequence's current value re-read: at cutover the application has moved them on. */
export async function refreshSequences(c: pg.ClientBase, catalog: Catalog): Promise<Catalog> {
  const q = (name: string) => `${quoteIdent(catalog.schema)}.${quoteIdent(name)}`;
  const sequences: Sequence[] = [];
  for (const s of catalog.sequences) sequences.push({ ...s, ...(await sequenceState(c, q(s.name))) });
  const tables: Table[] = [];
  for (const t of catalog.tables)
    tables.push({ ...t, identitySequences: await identitySequences(c, catalog.schema, t) });
  return { ...catalog, sequences, tables };
}
