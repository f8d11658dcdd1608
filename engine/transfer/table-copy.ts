// How a table's chunk is copied: which columns (stored generated columns are computed by the
// target, never copied), which format, from where to where. Only tables that hold rows have chunks:
// a partition is copied from the source partition straight into the target partition.
import type { Catalog, Table } from '../catalog/types.ts';
import type { Settings } from '../api/settings.ts';
import { findTable, schemaOf, targetName } from '../catalog/schemas.ts';
import type { Chunk } from '../plan/chunks.ts';
import type { CopyFormat } from '../source/dialect.ts';
import type { ChunkCopy } from './pipe.ts';

/** The table of a key (catalog/schemas.ts). */
export const tableOf = (catalog: Catalog, key: string): Table => findTable(catalog, key);

export const copiedColumns = (t: Table) => t.columns.filter((c) => c.generated === null).map((c) => c.name);

/** Binary COPY is faster but embeds type oids, so it is only used when every copied column is built in. */
export const binaryCopy = (t: Table) => t.columns.every((c) => c.generated !== null || c.builtinType);

export const copyFormat = (t: Table): CopyFormat => (binaryCopy(t) ? 'binary' : 'text');

export function chunkCopy(
  catalog: Catalog,
  chunk: Chunk,
  s: Pick<Settings, 'schemas'>,
  progressSchema: string,
): ChunkCopy {
  const t = tableOf(catalog, chunk.table);
  const format = copyFormat(t);
  const columns = copiedColumns(t);
  return {
    chunkId: chunk.id,
    read: {
      table: t,
      schema: schemaOf(catalog, t),
      range: chunk.range,
      columns,
      format,
    },
    targetTable: targetName(s, catalog, t),
    columns,
    binary: format === 'binary',
    whole: chunk.range === null,
    progressSchema,
  };
}
