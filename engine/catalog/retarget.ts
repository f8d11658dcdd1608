// Applies rename.ts to one schema's part of a multi-schema catalog: every definition it holds, with
// the OIDs' namespaces for column types and foreign keys. Pure.
import { retargetPrefix, retargetSql, type Rewritten, type SchemaMap } from './rename.ts';
import type { SchemaObjects } from './objects-types.ts';
import type { Catalog, Table } from './types.ts';
import { quoteIdent } from '../db/ident.ts';

/** What PostgreSQL rendered for an OID: the object's namespace, the text before its name and the exact qualified prefix. */
export interface Rendered {
  namespace: string;
  head: string;
  prefix: string;
  /** A foreign key's referenced table. */
  table?: string;
}

/** Per table name: column types and foreign keys (by constraint name) that name another namespace. */
export interface OidHints {
  types: Map<string, Map<string, Rendered>>;
  foreignKeys: Map<string, Map<string, Rendered>>;
}

export interface RetargetedPart {
  catalog: Catalog;
  hints: OidHints;
  /** Other migrated schemas this schema refers to. */
  uses: Set<string>;
  problems: string[];
}

export function retargetPart(part: Catalog, hints: OidHints, schemas: SchemaMap): RetargetedPart {
  const own = part.schema;
  const uses = new Set<string>();
  const problems: string[] = [];
  const take = (r: Rewritten): string => {
    for (const u of r.uses) uses.add(u);
    if (r.problem) problems.push(r.problem);
    return r.text;
  };
  const sql = (text: string, what: string) => take(retargetSql(text, own, schemas, what));
  const opt = (text: string | null, what: string) => (text === null ? null : sql(text, what));
  const inSchema = `in schema ${quoteIdent(own)}`;

  const table = (t: Table): Table => {
    const what = `table ${quoteIdent(t.name)} ${inSchema}`;
    const types = hints.types.get(t.name);
    const fks = hints.foreignKeys.get(t.name);
    return {
      ...t,
      columns: t.columns.map((c) => {
        const col = `column ${quoteIdent(c.name)} of ${what}`;
        const h = types?.get(c.name);
        const type = h
          ? take(retargetPrefix(c.type, h.head, h.prefix, h.namespace, own, schemas, `the type of ${col}`))
          : c.type;
        return {
          ...c,
          ...(type !== c.type ? { targetType: type } : {}),
          default: opt(c.default, `the default of ${col}`),
          generated: opt(c.generated, `the generation expression of ${col}`),
        };
      }),
      constraints: t.constraints.map((k) => {
        const h = fks?.get(k.name);
        const con = `constraint ${quoteIdent(k.name)} of ${what}`;
        const definition = h
          ? take(retargetPrefix(k.definition, h.head, h.prefix, h.namespace, own, schemas, con))
          : sql(k.definition, con);
        return { ...k, definition };
      }),
      indexes: t.indexes.map((i) => ({
        ...i,
        definition: sql(i.definition, `index ${quoteIdent(i.name)} ${inSchema}`),
      })),
      ...(t.partitionBy !== undefined
        ? { partitionBy: sql(t.partitionBy, `the partition key of ${what}`) }
        : {}),
      ...(t.partitionOf
        ? {
            partitionOf: {
              ...t.partitionOf,
              bound: sql(t.partitionOf.bound, `the partition bound of ${what}`),
            },
          }
        : {}),
    };
  };

  const objects = (o: SchemaObjects): SchemaObjects => ({
    ...o,
    extensions: o.extensions.map((e) =>
      e.schema !== null && schemas.has(e.schema) ? { ...e, schema: schemas.get(e.schema)! } : e,
    ),
    functions: o.functions.map((f) => ({
      ...f,
      // The signature names argument types of other schemas too: DROP (fallback) and GRANT use it.
      signature: sql(f.signature, `${f.kind} ${f.signature} ${inSchema}`),
      definition: sql(f.definition, `${f.kind} ${f.signature} ${inSchema}`),
    })),
    grants: o.grants.map((g) =>
      (g.type === 'FUNCTION' || g.type === 'PROCEDURE') && g.object !== null
        ? { ...g, object: sql(g.object, `grant on ${g.type.toLowerCase()} ${g.object} ${inSchema}`) }
        : g,
    ),
    views: o.views.map((v) => ({
      ...v,
      query: sql(v.query, `view ${quoteIdent(v.name)} ${inSchema}`),
      indexes: v.indexes.map((i) => ({
        ...i,
        definition: sql(i.definition, `index ${quoteIdent(i.name)} ${inSchema}`),
      })),
    })),
    triggers: o.triggers.map((t) => ({
      ...t,
      definition: sql(t.definition, `trigger ${quoteIdent(t.name)} on ${quoteIdent(t.table)} ${inSchema}`),
    })),
    policies: o.policies.map((p) => {
      const what = `policy ${quoteIdent(p.name)} on ${quoteIdent(p.table)} ${inSchema}`;
      return { ...p, using: opt(p.using, what), check: opt(p.check, what) };
    }),
  });

  const catalog: Catalog = {
    ...part,
    types: part.types.map((t) => ({
      ...t,
      definition: sql(t.definition, `type ${quoteIdent(t.name)} ${inSchema}`),
    })),
    tables: part.tables.map(table),
    ...(part.objects ? { objects: objects(part.objects) } : {}),
  };
  return { catalog, hints, uses, problems };
}
