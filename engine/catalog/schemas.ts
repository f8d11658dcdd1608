// Addressing tables of a migration that moves several schemas (spec.schemas). The catalog's tables,
// types and sequences are one list; in a multi-schema catalog each carries its source `schema` (a
// single-schema catalog leaves it out, exactly as before, and `catalog.schema` is theirs). A table's
// key, which names it in the plan, the bookkeeping, the change log and messages, is its name alone in
// a single-schema migration and `schema.name` otherwise. Pure.
import { targetSchemaOf, type Settings } from '../api/settings.ts';
import { qualified } from '../db/ident.ts';
import type { SchemaObjects } from './objects-types.ts';
import type { Catalog, Table } from './types.ts';

interface InSchema {
  schema?: string;
  name: string;
}

/** The source schema of a table, sequence or type of the catalog. */
export const schemaOf = (catalog: Pick<Catalog, 'schema'>, o: InSchema): string => o.schema ?? catalog.schema;

/** The table's key: its name, or `schema.name` in a multi-schema catalog. */
export const tableKey = (t: InSchema): string => (t.schema === undefined ? t.name : `${t.schema}.${t.name}`);

/** The key of another table of the same schema (a partition parent, an inheritance parent). */
export const siblingKey = (t: InSchema, name: string): string => tableKey({ schema: t.schema, name });

/** `"schema"."name"` on the source. */
export const sourceName = (catalog: Pick<Catalog, 'schema'>, o: InSchema): string =>
  qualified(schemaOf(catalog, o), o.name);

/** `"schema"."name"` on the target: the source schema's target. */
export const targetName = (
  s: Pick<Settings, 'schemas'>,
  catalog: Pick<Catalog, 'schema'>,
  o: InSchema,
): string => qualified(targetSchemaOf(s, schemaOf(catalog, o)), o.name);

export function findTable(catalog: Pick<Catalog, 'tables'>, key: string): Table {
  const t = catalog.tables.find((x) => tableKey(x) === key);
  if (!t) throw new Error(`internal: table ${key} is not in the catalog`);
  return t;
}

/** The source schemas of the catalog, in manifest order. */
export const catalogSchemas = (catalog: Catalog): string[] => [
  catalog.schema,
  ...(catalog.moreSchemas ?? []).map((m) => m.schema),
];

/** The objects (views, routines, ...) of one source schema of the catalog. */
export function objectsOf(catalog: Catalog, schema: string): SchemaObjects | undefined {
  return schema === catalog.schema
    ? catalog.objects
    : catalog.moreSchemas?.find((m) => m.schema === schema)?.objects;
}

/**
 * The catalog of each schema on its own, as a single-schema migration has it (the schema's tables,
 * types, sequences and objects, with `schema` as the catalog's): what the per-schema DDL renders.
 * A single-schema catalog is returned as it is.
 */
export function schemaParts(catalog: Catalog): Catalog[] {
  if (!catalog.moreSchemas?.length) return [catalog];
  return catalogSchemas(catalog).map((schema) => {
    const mine = <T extends { schema?: string }>(list: T[]) =>
      list.filter((o) => schemaOf(catalog, o as T & InSchema) === schema);
    const objects = objectsOf(catalog, schema);
    return {
      schema,
      serverVersion: catalog.serverVersion,
      types: mine(catalog.types as (Catalog['types'][number] & { schema?: string })[]),
      sequences: mine(catalog.sequences),
      tables: mine(catalog.tables),
      ...(objects ? { objects } : {}),
    };
  });
}

/** The catalog with one schema's objects replaced. */
export function withObjects(catalog: Catalog, schema: string, objects: SchemaObjects): Catalog {
  if (schema === catalog.schema) return { ...catalog, objects };
  return {
    ...catalog,
    moreSchemas: (catalog.moreSchemas ?? []).map((m) => (m.schema === schema ? { ...m, objects } : m)),
  };
}
