// User-defined types of the schema that the selected columns use, directly or through arrays,
// domains, composite attributes and range subtypes: enums, domains, composite and range types,
// rendered as full CREATE statements and ordered so that each comes after the types it uses.
// Types an extension provides are left to the extension, which must exist on the target; any other
// type ferry cannot recreate (base types, table row types) fails the extraction, naming it.
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/ident.ts';
import type { UserType } from './types.ts';

interface TypeRow {
  oid: number;
  name: string;
  kind: string;
  /** Element type of an array type, 0 otherwise. */
  elem: number;
  /** The range type of a multirange type, 0 otherwise. */
  range: number;
  local: boolean;
  extension: boolean;
  relkind: string | null;
  /** Types this one is built from: domain base, composite attributes, range subtype. */
  uses: number[];
}

async function reachableTypes(
  c: pg.ClientBase,
  schema: string,
  roots: number[],
  version: number,
): Promise<TypeRow[]> {
  // Multiranges (14+) come with their range type, and point to it.
  const rangeOfMultirange = version >= 14 ? 'r.rngmultitypid = t.oid' : 'false';
  const { rows } = await c.query<TypeRow>(
    `WITH RECURSIVE used(oid) AS (
       SELECT unnest($2::oid[])
       UNION
       SELECT x.oid FROM used u JOIN pg_type t ON t.oid = u.oid
        CROSS JOIN LATERAL (
          SELECT t.typelem WHERE t.typelem <> 0
          UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0
          UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
          UNION ALL SELECT r.rngtypid FROM pg_range r WHERE ${rangeOfMultirange}
          UNION ALL SELECT a.atttypid FROM pg_attribute a
                     WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) x(oid))
     SELECT t.oid::int AS oid, t.typname AS name, t.typtype::text AS kind, t.typelem::int AS elem,
            coalesce((SELECT r.rngtypid::int FROM pg_range r WHERE ${rangeOfMultirange}), 0) AS range,
            n.nspname = $1 AS local,
            EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid
                      AND e.deptype = 'e') AS extension,
            k.relkind::text AS relkind,
            array(SELECT t.typbasetype::int WHERE t.typbasetype <> 0
                  UNION ALL SELECT r.rngsubtype::int FROM pg_range r WHERE r.rngtypid = t.oid
                  UNION ALL SELECT a.atttypid::int FROM pg_attribute a
                             WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                               AND NOT a.attisdropped) AS uses
       FROM used u JOIN pg_type t ON t.oid = u.oid JOIN pg_namespace n ON n.oid = t.typnamespace
       LEFT JOIN pg_class k ON k.oid = t.typrelid
      ORDER BY t.oid`,
    [schema, roots],
  );
  return rows;
}

/** What must be created: local, not from an extension, not an array or multirange (those come along). */
function creatable(t: TypeRow): boolean {
  if (!t.local || t.extension || t.elem !== 0 || t.kind === 'm') return false;
  if (t.kind === 'e' || t.kind === 'd' || t.kind === 'r' || (t.kind === 'c' && t.relkind === 'c'))
    return true;
  if (t.kind === 'c')
    throw new Error(`type ${quoteIdent(t.name)} is a table's row type: ferry cannot recreate it`);
  throw new Error(
    `type ${quoteIdent(t.name)} is a base type not provided by an extension: ferry cannot recreate it`,
  );
}

async function enums(c: pg.ClientBase, oids: number[]): Promise<Map<number, string>> {
  const { rows } = await c.query<{ oid: number; labels: string[] }>(
    `SELECT enumtypid::int AS oid, array_agg(enumlabel::text ORDER BY enumsortorder) AS labels
       FROM pg_enum WHERE enumtypid = ANY($1) GROUP BY enumtypid`,
    [oids],
  );
  return new Map(rows.map((r) => [r.oid, `AS ENUM (${r.labels.map(quoteLiteral).join(', ')})`]));
}

async function domains(c: pg.ClientBase, oids: number[]): Promise<Map<number, string>> {
  const { rows } = await c.query<{
    oid: number;
    base: string;
    coll: string | null;
    def: string | null;
    notnull: boolean;
    checks: { name: string; def: string }[];
  }>(
    `SELECT t.oid::int AS oid, format_type(t.typbasetype, t.typtypmod) AS base,
            CASE WHEN t.typcollation <> 0 AND t.typcollation <> b.typcollation
                 THEN t.typcollation::regcollation::text END AS coll,
            pg_get_expr(t.typdefaultbin, 0) AS def, t.typnotnull AS notnull,
            coalesce((SELECT json_agg(json_build_object('name', k.conname, 'def', pg_get_constraintdef(k.oid))
                                      ORDER BY k.conname)
                        FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), '[]') AS checks
       FROM pg_type t JOIN pg_type b ON b.oid = t.typbasetype
      WHERE t.oid = ANY($1)`,
    [oids],
  );
  return new Map(
    rows.map((r) => {
      const parts = [`AS ${r.base}`];
      if (r.coll) parts.push(`COLLATE ${r.coll}`);
      if (r.def !== null) parts.push(`DEFAULT ${r.def}`);
      if (r.notnull) parts.push('NOT NULL');
      for (const k of r.checks) parts.push(`CONSTRAINT ${quoteIdent(k.name)} ${k.def}`);
      return [r.oid, parts.join(' ')];
    }),
  );
}

async function composites(c: pg.ClientBase, oids: number[]): Promise<Map<number, string>> {
  const { rows } = await c.query<{
    oid: number;
    attrs: { name: string; type: string; coll: string | null }[];
  }>(
    `SELECT t.oid::int AS oid,
            json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                       'coll', CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation
                                    THEN a.attcollation::regcollation::text END) ORDER BY a.attnum) AS attrs
       FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type at ON at.oid = a.atttypid
      WHERE t.oid = ANY($1) GROUP BY t.oid`,
    [oids],
  );
  return new Map(
    rows.map((r) => [
      r.oid,
      `AS (${r.attrs.map((a) => `${quoteIdent(a.name)} ${a.type}${a.coll ? ` COLLATE ${a.coll}` : ''}`).join(', ')})`,
    ]),
  );
}

async function ranges(c: pg.ClientBase, oids: number[], version: number): Promise<Map<number, string>> {
  const { rows } = await c.query<{
    oid: number;
    name: string;
    subtype: string;
    opclass: string | null;
    coll: string | null;
    canonical: string | null;
    diff: string | null;
    multirange: string | null;
  }>(
    `SELECT r.rngtypid::int AS oid, t.typname AS name, format_type(r.rngsubtype, NULL) AS subtype,
            CASE WHEN NOT o.opcdefault THEN
              CASE WHEN o.opcnamespace = 'pg_catalog'::regnamespace THEN quote_ident(o.opcname)
                   ELSE o.opcnamespace::regnamespace::text || '.' || quote_ident(o.opcname) END
            END AS opclass,
            CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> s.typcollation
                 THEN r.rngcollation::regcollation::text END AS coll,
            CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text END AS canonical,
            CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END AS diff,
            ${version >= 14 ? '(SELECT m.typname FROM pg_type m WHERE m.oid = r.rngmultitypid)' : 'NULL'} AS multirange
       FROM pg_range r JOIN pg_type t ON t.oid = r.rngtypid JOIN pg_type s ON s.oid = r.rngsubtype
       JOIN pg_opclass o ON o.oid = r.rngsubopc
      WHERE r.rngtypid = ANY($1)`,
    [oids],
  );
  return new Map(
    rows.map((r) => {
      // A canonical function is written in C: only an extension can bring it to the target.
      if (r.canonical)
        throw new Error(
          `range type ${quoteIdent(r.name)} has a canonical function (${r.canonical}): ferry cannot recreate it`,
        );
      const parts = [`SUBTYPE = ${r.subtype}`];
      if (r.opclass) parts.push(`SUBTYPE_OPCLASS = ${r.opclass}`);
      if (r.coll) parts.push(`COLLATION = ${r.coll}`);
      if (r.diff) parts.push(`SUBTYPE_DIFF = ${r.diff}`);
      if (r.multirange) parts.push(`MULTIRANGE_TYPE_NAME = ${quoteIdent(r.multirange)}`);
      return [r.oid, `AS RANGE (${parts.join(', ')})`];
    }),
  );
}

/**
 * Kahn's topological order, ties broken by name so the output is stable. `uses` names other items;
 * names that are not items are ignored (built-in or external types).
 */
export function orderByDependency<T extends { name: string; uses: string[] }>(items: T[]): T[] {
  const byName = new Map(items.map((i) => [i.name, i]));
  const waiting = new Map(
    items.map((i) => [i.name, new Set(i.uses.filter((u) => byName.has(u) && u !== i.name))]),
  );
  const out: T[] = [];
  while (waiting.size > 0) {
    const ready = [...waiting].filter(([, deps]) => deps.size === 0).map(([n]) => n);
    if (ready.length === 0)
      throw new Error(`types depend on each other in a cycle: ${[...waiting.keys()].join(', ')}`);
    ready.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of ready) {
      out.push(byName.get(n)!);
      waiting.delete(n);
      for (const deps of waiting.values()) deps.delete(n);
    }
  }
  return out;
}

/** The user types that `columnTypes` need, as CREATE statements in dependency order. */
export async function userTypes(
  c: pg.ClientBase,
  schema: string,
  columnTypes: number[],
  version: number,
): Promise<UserType[]> {
  const all = await reachableTypes(c, schema, columnTypes, version);
  const info = new Map(all.map((t) => [t.oid, t]));
  // An array or multirange stands for the type it is made of.
  const underlying = (oid: number): number => {
    const t = info.get(oid);
    if (!t) return oid;
    if (t.elem !== 0) return underlying(t.elem);
    if (t.range !== 0) return t.range;
    return oid;
  };
  const wanted = all.filter(creatable);
  const of = (kind: string) => wanted.filter((t) => t.kind === kind).map((t) => t.oid);
  const bodies = new Map([
    ...(await enums(c, of('e'))),
    ...(await domains(c, of('d'))),
    ...(await composites(c, of('c'))),
    ...(await ranges(c, of('r'), version)),
  ]);
  const created = new Set(wanted.map((t) => t.oid));
  const items = wanted.map((t) => ({
    name: t.name,
    uses: t.uses
      .map(underlying)
      .filter((u) => created.has(u))
      .map((u) => info.get(u)!.name),
    definition: `CREATE ${t.kind === 'd' ? 'DOMAIN' : 'TYPE'} ${quoteIdent(t.name)} ${bodies.get(t.oid)}`,
  }));
  return orderByDependency(items).map(({ name, definition }) => ({ name, definition }));
}
