// One catalog from the retargeted parts of a multi-schema migration (see schemas.ts). Pure.
import { creationOrder, type SchemaMap } from './rename.ts';
import type { RetargetedPart } from './retarget.ts';
import { tableKey } from './schemas.ts';
import type { Catalog, Table } from './types.ts';

/** The part's tables with their schema, and each foreign key naming the key of a migrated table it references. */
function tagTables(p: RetargetedPart, schemas: SchemaMap): Table[] {
  const schema = p.catalog.schema;
  return p.catalog.tables.map((t) => ({
    schema,
    ...t,
    constraints: t.constraints.map((k) => {
      if (k.kind !== 'f') return k;
      const other = p.hints.foreignKeys.get(t.name)?.get(k.name);
      if (other)
        return {
          ...k,
          references: schemas.has(other.namespace)
            ? tableKey({ schema: other.namespace, name: other.table! })
            : null,
        };
      return { ...k, references: k.references === null ? null : tableKey({ schema, name: k.references }) };
    }),
  }));
}

export function mergeSchemas(parts: RetargetedPart[], schemas: SchemaMap): Catalog {
  const [first, ...rest] = parts;
  if (!first) throw new Error('internal: no schema to merge');
  const names = parts.map((p) => p.catalog.schema);
  const problems = parts.flatMap((p) => p.problems);
  return {
    schema: first.catalog.schema,
    serverVersion: first.catalog.serverVersion,
    types: parts.flatMap((p) => p.catalog.types.map((t) => ({ schema: p.catalog.schema, ...t }))),
    sequences: parts.flatMap((p) => p.catalog.sequences.map((q) => ({ schema: p.catalog.schema, ...q }))),
    tables: parts.flatMap((p) => tagTables(p, schemas)),
    ...(first.catalog.objects ? { objects: first.catalog.objects } : {}),
    moreSchemas: rest.map((p) => ({
      schema: p.catalog.schema,
      ...(p.catalog.objects ? { objects: p.catalog.objects } : {}),
    })),
    creationOrder: creationOrder(names, new Map(parts.map((p) => [p.catalog.schema, p.uses]))),
    ...(problems.length ? { unrewritable: problems } : {}),
  };
}
