// How a table's chunk is copied: which columns (stored generated columns are computed by the
// target, never copied), which format, from where to where. Only tables that hold rows have chunks:
// a partition is copied from the source partition straight into the target partition.
import { rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import type { Settings } from '../api/settings.ts';
import { findTable, schemaOf, sourceName, targetName } from '../catalog/schemas.ts';
import { rangePredicate, type Chunk } from '../plan/chunks.ts';
import type { ChunkCopy } from './pipe.ts';

/** The table of a key (catalog/schemas.ts). */
export const tableOf = (catalog: Catalog, key: string): Table => findTable(catalog, key);

export const copiedColumns = (t: Table) => t.columns.filter((c) => c.generated === null).map((c) => c.name);

/** Binary COPY is faster but embeds type oids, so it is only used when every copied column is built in. */
export const binaryCopy = (t: Table) => t.columns.every((c) => c.generated !== null || c.builtinType);

export function chunkCopy(
  catalog: Catalog,
  chunk: Chunk,
  s: Pick<Settings, 'schemas'>,
  progressSchema: string,
): ChunkCopy {
  const t = tableOf(catalog, chunk.table);
  return {
    chunkId: chunk.id,
    sourceTable: sourceName(catalog, t),
    sourceRows: rowsOf(schemaOf(catalog, t), t),
    targetTable: targetName(s, catalog, t),
    columns: copiedColumns(t),
    predicate: rangePredicate(chunk.range),
    binary: binaryCopy(t),
    progressSchema,
  };
}
