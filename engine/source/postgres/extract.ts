// Reading the source catalog from pg_catalog. Runs in one read-only transaction with search_path set
// to the source schema alone, so that format_type, pg_get_expr, pg_get_indexdef (pretty form: the
// plain form always qualifies the table) and pg_get_constraintdef render the schema's own objects
// unqualified: the definitions then replay into any target schema. Objects of other schemas keep
// their qualification (e.g. `public.citext`): they must exist on the target under the same name.
// Several schemas (extractSchemas): each is read this way in one snapshot, and the qualified
// references between them are pointed at their target schemas (rename.ts, retarget.ts).
//
// Ordinary and partitioned tables are migrated, partitions with their partitioned table, inheritance
// trees whole (see completeTrees). What a partition inherits from its parent (constraints with
// conparentid or not conislocal, indexes attached to a partitioned index) is left out: building it
// on the parent builds it on the partitions. The schema's other objects (views, routines, triggers,
// policies, grants, comments, collations, extensions, and what ferry refuses) come from objects.ts.
// Not extracted: owners, storage parameters, tablespaces, UNLOGGED, replica identity, invalid
// indexes (a failed CREATE INDEX CONCURRENTLY) and NOT NULL/constraint-trigger entries of
// pg_constraint (NOT NULL travels with the column).
import type pg from 'pg';
import { quoteIdent } from '../../db/ident.ts';
import { completeTrees, type TreeNode } from '../../plan/select.ts';
import { extractObjects, schemaTypeRoots } from '../../catalog/objects.ts';
import { identitySequences, schemaSequences, sequenceStates } from './sequences.ts';
import type { Catalog, Column, Constraint, IdentitySequence, Index, Table } from '../../catalog/types.ts';
import { userTypes } from '../../catalog/user-types.ts';
import type { SchemaPair } from '../../api/settings.ts';
import { mergeSchemas } from '../../catalog/merge.ts';
import { sourceName } from '../../catalog/schemas.ts';
import { type SchemaMap } from '../../catalog/rename.ts';
import { retargetPart, type OidHints, type Rendered, type RetargetedPart } from '../../catalog/retarget.ts';

const FIRST_USER_OID = 16384;

/**
 * Built-in types whose binary form is not portable between servers: the reg* types send oids, and
 * aclitem has no binary form at all. Arrays of them are covered through their element type.
 */
const NOT_BINARY_PORTABLE = new Set([24, 1033, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 4191]);

interface RelationRow {
  oid: number;
  name: string;
  relkind: string;
  /** pg_get_partkeydef of a partitioned table. */
  partkey: string | null;
  /** A partition's parent and bound. */
  partparent: string | null;
  bound: string | null;
  /**
   * Inheritance parents (not partition parents), in order. Parents here are those of the schema: a
   * tree reaching elsewhere is refused through `outside`.
   */
  inherits: string[];
  /** Parents, children or partitions in another schema, or null. */
  outside: string | null;
  reltuples: number;
  relpages: number;
  total: string;
  heap: string;
}

async function relations(c: pg.ClientBase, nsp: number, only: string[] | undefined): Promise<RelationRow[]> {
  const { rows } = await c.query<RelationRow>(
    `SELECT c.oid::int AS oid, c.relname AS name, c.relkind::text AS relkind,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
            CASE WHEN c.relispartition THEN (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                                              WHERE i.inhrelid = c.oid AND p.relnamespace = c.relnamespace) END AS partparent,
            CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
            array(SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                   WHERE i.inhrelid = c.oid AND NOT c.relispartition AND p.relnamespace = c.relnamespace
                   ORDER BY i.inhseqno)::text[] AS inherits,
            (SELECT string_agg(p.oid::regclass::text, ', ') FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid OR p.oid = i.inhparent
              WHERE (i.inhrelid = c.oid OR i.inhparent = c.oid) AND p.oid <> c.oid AND p.relnamespace <> c.relnamespace
                AND p.relkind IN ('r', 'p')) AS outside,
            c.reltuples::float8 AS reltuples, c.relpages::int AS relpages,
            pg_total_relation_size(c.oid)::text AS total, pg_relation_size(c.oid)::text AS heap
       FROM pg_class c
      WHERE c.relnamespace = $1 AND (c.relkind IN ('r', 'p') OR c.relname = ANY($2))
      ORDER BY c.relname`,
    [nsp, only ?? []],
  );
  return rows;
}

const RELKIND: Record<string, string> = {
  v: 'a view',
  m: 'a materialized view',
  f: 'a foreign table',
  S: 'a sequence',
  i: 'an index',
  I: 'an index',
  c: 'a composite type',
  t: 'a TOAST table',
};

/**
 * The tables to extract: every table of the schema, or the named ones with the partitions of each
 * named partitioned table (completeTrees). Named objects that are not tables, partitions named alone,
 * inheritance trees cut in two and trees reaching into another schema fail the extraction with the reason.
 */
async function selectRelations(
  c: pg.ClientBase,
  schema: string,
  nsp: number,
  only: string[] | undefined,
): Promise<RelationRow[]> {
  const rels = await relations(c, nsp, only);
  const problems: string[] = [];
  const found = new Set(rels.map((r) => r.name));
  for (const name of only ?? [])
    if (!found.has(name))
      problems.push(`table ${quoteIdent(name)} does not exist in schema ${quoteIdent(schema)}`);
  const tables = rels.filter((r) => r.relkind === 'r' || r.relkind === 'p');
  for (const r of rels)
    if (r.relkind !== 'r' && r.relkind !== 'p')
      problems.push(
        `table ${quoteIdent(r.name)} cannot be migrated: is ${RELKIND[r.relkind] ?? `a relation of kind ${r.relkind}`}, not a table`,
      );
  if (problems.length) throw new Error(problems.join('; '));
  const nodes: TreeNode[] = tables.map((r) => ({
    name: r.name,
    ...(r.partparent !== null ? { partitionOf: r.partparent } : {}),
    inherits: r.inherits,
  }));
  const chosen = new Set(
    completeTrees(nodes, only ?? nodes.filter((n) => n.partitionOf === undefined).map((n) => n.name)),
  );
  const selected = tables.filter((r) => chosen.has(r.name));
  const outside = selected.filter((r) => r.outside !== null);
  if (outside.length)
    throw new Error(
      outside
        .map(
          (r) =>
            `table ${quoteIdent(r.name)} cannot be migrated: its partition or inheritance tree reaches into another schema (${r.outside}); exclude it with spec.tables.exclude`,
        )
        .join('; '),
    );
  return selected;
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
  generated: '' | 's' | 'v';
  coll: string | null;
  /** The namespace of the type (of the element type for arrays), and `quote_ident(namespace).`. */
  tnsp: string;
  tprefix: string;
}

async function columns(c: pg.ClientBase, rels: number[]): Promise<ColumnRow[]> {
  const { rows } = await c.query<ColumnRow>(
    `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.atttypid::int AS typeoid, t.typelem::int AS elemoid, a.attnotnull AS notnull,
            pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity::text AS identity,
            a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                 THEN a.attcollation::regcollation::text END AS coll,
            tn.nspname AS tnsp, quote_ident(tn.nspname) || '.' AS tprefix
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type nt ON nt.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END
       JOIN pg_namespace tn ON tn.oid = nt.typnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [rels],
  );
  return rows;
}

function binaryPortable(oid: number): boolean {
  return oid < FIRST_USER_OID && !NOT_BINARY_PORTABLE.has(oid);
}

function toColumn(r: ColumnRow): Column {
  const generated = r.generated === '' ? null : r.def;
  return {
    name: r.name,
    type: r.type,
    typeOid: r.typeoid,
    builtinType: binaryPortable(r.typeoid) && (r.elemoid === 0 || binaryPortable(r.elemoid)),
    notNull: r.notnull,
    default: generated === null && r.identity === '' ? r.def : null,
    identity: r.identity,
    generated,
    ...(r.generated === 'v' ? { virtual: true } : {}),
    collation: r.coll,
  };
}

/** A foreign key's referenced table: its schema, name, and how pg_get_constraintdef begins when it qualifies it. */
interface ReferenceRow {
  rnsp: string | null;
  rname: string | null;
  rhead: string | null;
  rprefix: string | null;
}

async function constraints(
  c: pg.ClientBase,
  nsp: number,
  rels: number[],
): Promise<(Constraint & ReferenceRow & { rel: number })[]> {
  const { rows } = await c.query<Constraint & ReferenceRow & { rel: number }>(
    `SELECT k.conrelid::int AS rel, k.conname AS name, k.contype::text AS kind,
            pg_get_constraintdef(k.oid) AS definition,
            (SELECT r.relname FROM pg_class r WHERE r.oid = k.confrelid AND r.relnamespace = $1) AS "references",
            rn.nspname AS rnsp, r.relname AS rname,
            'FOREIGN KEY (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY o.ord)
                                  FROM unnest(k.conkey) WITH ORDINALITY o(attnum, ord)
                                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = o.attnum)
              || ') REFERENCES ' AS rhead, quote_ident(rn.nspname) || '.' AS rprefix
       FROM pg_constraint k
       LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
      WHERE k.conrelid = ANY($2) AND k.contype IN ('p', 'u', 'c', 'f', 'x') AND k.conislocal AND k.conparentid = 0
      ORDER BY k.conrelid, k.conname`,
    [nsp, rels],
  );
  return rows;
}

async function indexes(c: pg.ClientBase, rels: number[]): Promise<(Index & { rel: number })[]> {
  const { rows } = await c.query<Index & { rel: number }>(
    `SELECT i.indrelid::int AS rel, x.relname AS name, pg_get_indexdef(i.indexrelid, 0, true) AS definition
       FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
      WHERE i.indrelid = ANY($1) AND i.indisvalid
        AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                          AND k.contype IN ('p', 'u', 'x'))
      ORDER BY i.indrelid, x.relname`,
    [rels],
  );
  return rows;
}

interface KeyRow {
  rel: number;
  name: string;
  cols: string[];
  primary: boolean;
}

/**
 * The primary key, else the narrowest unique index over NOT NULL columns without predicate or
 * expressions. Such a substitute must be immediate: INSERT ... ON CONFLICT cannot use a deferrable one.
 */
async function keys(c: pg.ClientBase, rels: number[]): Promise<Map<number, KeyRow>> {
  const { rows } = await c.query<KeyRow>(
    `SELECT DISTINCT ON (i.indrelid) i.indrelid::int AS rel, x.relname AS name, i.indisprimary AS primary,
            array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)::text[] AS cols
       FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
      WHERE i.indrelid = ANY($1) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
        AND (i.indisprimary OR i.indimmediate)
        AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                         WHERE k.ord <= i.indnkeyatts AND NOT a.attnotnull)
      ORDER BY i.indrelid, i.indisprimary DESC, i.indnkeyatts, x.relname`,
    [rels],
  );
  return new Map(rows.map((r) => [r.rel, r]));
}

function byRel<T extends { rel: number }>(rows: T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const list = out.get(r.rel);
    if (list) list.push(r);
    else out.set(r.rel, [r]);
  }
  return out;
}

/** One schema read under its own search_path, with what the OIDs say about names of other schemas. */
interface SchemaRead {
  catalog: Catalog;
  hints: OidHints;
}

/**
 * Reads one schema inside the caller's transaction, with search_path set to it. `sequenceRels`: the
 * tables whose defaults make a sequence of this schema migrate (all the selected tables of every schema).
 */
async function readSchema(
  c: pg.ClientBase,
  schema: string,
  tables: string[] | undefined,
  sequenceRels?: (rels: number[]) => number[],
): Promise<SchemaRead> {
  await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
  const { rows: head } = await c.query<{ nsp: number | null; v: string }>(
    "SELECT (SELECT oid::int FROM pg_namespace WHERE nspname = $1) AS nsp, current_setting('server_version_num') AS v",
    [schema],
  );
  const nsp = head[0]!.nsp;
  if (nsp === null) throw new Error(`schema ${quoteIdent(schema)} does not exist`);
  const version = Math.floor(Number(head[0]!.v) / 10000);
  const selected = await selectRelations(c, schema, nsp, tables);
  const rels = selected.map((r) => r.oid);
  const cols = await columns(c, rels);
  const colsOf = byRel(cols);
  const cons = await constraints(c, nsp, rels);
  const consOf = byRel(cons);
  const idxOf = byRel(await indexes(c, rels));
  const keyOf = await keys(c, rels);
  const identityOf = await identitySequences(c, rels);
  const catalog: Catalog = {
    schema,
    serverVersion: version,
    types: await userTypes(
      c,
      schema,
      [...new Set([...cols.map((x) => x.typeoid), ...(await schemaTypeRoots(c, nsp))])],
      version,
    ),
    sequences: await schemaSequences(c, schema, sequenceRels ? sequenceRels(rels) : rels),
    tables: selected.map((r): Table => ({
      name: r.name,
      columns: (colsOf.get(r.oid) ?? []).map(toColumn),
      key: keyOf.get(r.oid)?.cols ?? [],
      keyIsPrimary: keyOf.get(r.oid)?.primary ?? false,
      keyName: keyOf.get(r.oid)?.name ?? null,
      constraints: (consOf.get(r.oid) ?? []).map(
        ({ rel: _rel, rnsp: _n, rname: _r, rhead: _h, rprefix: _p, ...k }) => k,
      ),
      indexes: (idxOf.get(r.oid) ?? []).map(({ rel: _rel, ...i }) => i),
      identitySequences: identityOf.get(r.oid) ?? [],
      rowEstimate: Math.max(0, Math.round(r.reltuples)),
      totalBytes: Number(r.total),
      heapBytes: Number(r.heap),
      pages: r.relpages,
      ...(r.partkey !== null ? { partitionBy: r.partkey } : {}),
      ...(r.partparent !== null ? { partitionOf: { parent: r.partparent, bound: r.bound! } } : {}),
      ...(r.inherits.length ? { inherits: r.inherits } : {}),
    })),
  };
  catalog.objects = await extractObjects(c, nsp, rels, catalog);
  const nameOf = new Map(selected.map((r) => [r.oid, r.name]));
  const hints: OidHints = { types: new Map(), foreignKeys: new Map() };
  const hint = (m: Map<string, Map<string, Rendered>>, rel: number, key: string, h: Rendered) => {
    const t = nameOf.get(rel)!;
    if (!m.has(t)) m.set(t, new Map());
    m.get(t)!.set(key, h);
  };
  for (const x of cols)
    if (x.tnsp !== schema)
      hint(hints.types, x.rel, x.name, { namespace: x.tnsp, head: '', prefix: x.tprefix });
  for (const k of cons)
    if (k.kind === 'f' && k.rnsp !== null && k.rnsp !== schema)
      hint(hints.foreignKeys, k.rel, k.name, {
        namespace: k.rnsp,
        head: k.rhead!,
        prefix: k.rprefix!,
        table: k.rname!,
      });
  return { catalog, hints };
}

/** Runs `read` in one read-only snapshot of the source. `client` must not be inside a transaction. */
async function inSnapshot<T>(c: pg.ClientBase, read: () => Promise<T>): Promise<T> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const out = await read();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * The catalog of `schema` on the source: every ordinary table, or exactly the named ones. Opens and
 * ends its own transaction, so `client` must not be inside one.
 */
export async function extractCatalog(c: pg.ClientBase, schema: string, tables?: string[]): Promise<Catalog> {
  return inSnapshot(c, async () => (await readSchema(c, schema, tables)).catalog);
}

/**
 * The catalog of several schemas (spec.schemas, in manifest order), each read under its own
 * search_path, in one snapshot: tables, types and sequences carry their schema, foreign keys to a
 * migrated table name its key, and references between the schemas point at their target schemas
 * (rename.ts; what cannot be rewritten is listed in `unrewritable`). `tables`: the selected tables of
 * each schema.
 */
export async function extractSchemas(
  c: pg.ClientBase,
  pairs: readonly SchemaPair[],
  tables: ReadonlyMap<string, string[]>,
): Promise<Catalog> {
  const schemas: SchemaMap = new Map(pairs.map((p) => [p.source, p.target]));
  return inSnapshot(c, async () => {
    // Which tables are selected in every schema first: a sequence migrates when any of them uses it.
    const all: number[] = [];
    for (const p of pairs) {
      await c.query(`SET LOCAL search_path = ${quoteIdent(p.source)}`);
      const nsp = (
        await c.query<{ nsp: number }>('SELECT oid::int AS nsp FROM pg_namespace WHERE nspname = $1', [
          p.source,
        ])
      ).rows[0]?.nsp;
      if (nsp === undefined) throw new Error(`schema ${quoteIdent(p.source)} does not exist`);
      all.push(...(await selectRelations(c, p.source, nsp, tables.get(p.source) ?? [])).map((r) => r.oid));
    }
    const parts: RetargetedPart[] = [];
    for (const p of pairs) {
      const read = await readSchema(c, p.source, tables.get(p.source) ?? [], () => all);
      parts.push(retargetPart(read.catalog, read.hints, schemas));
    }
    return mergeSchemas(parts, schemas);
  });
}
/** The catalog with every sequence's current value re-read: at cutover the application has moved them on. */
export async function refreshSequences(c: pg.ClientBase, catalog: Catalog): Promise<Catalog> {
  const names = catalog.sequences.map((s) => sourceName(catalog, s));
  const states = await sequenceStates(c, names);
  const tables: Table[] = [];
  for (const t of catalog.tables) {
    const ids: IdentitySequence[] = [];
    for (const s of t.identitySequences) {
      // Catalogs written before the sequence name was recorded find it through the column.
      const name =
        s.sequence !== undefined
          ? sourceName(catalog, { schema: t.schema, name: s.sequence })
          : (
              await c.query<{ seq: string }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [
                sourceName(catalog, t),
                s.column,
              ])
            ).rows[0]!.seq;
      ids.push({ ...s, ...(await sequenceStates(c, [name]))[0]! });
    }
    tables.push({ ...t, identitySequences: ids });
  }
  return { ...catalog, sequences: catalog.sequences.map((s, i) => ({ ...s, ...states[i]! })), tables };
}
