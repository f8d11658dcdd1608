// Raw SQL Server catalog rows for tests of the catalog built from sys.* (engine/source/mssql/catalog.ts).
import type { RawTable } from '../../engine/source/mssql/catalog.ts';

/** An ordinary, empty table of `schema` as readRawCatalog returns it. */
export const rawTable = (schema: string, name: string): RawTable => ({
  schema,
  name,
  temporalType: 0,
  ledgerType: 0,
  memoryOptimized: false,
  fileTable: false,
  external: false,
  graph: false,
  rows: '0',
  totalPages: '0',
  dataPages: '0',
  comment: null,
});
