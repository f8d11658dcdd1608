// The transfer plan: every selected table that holds rows (not a partitioned table: each of its
// partitions is a table of its own here) cut into chunks, the chunks balanced into table groups.
// The decisions are pure (chunks.ts, groups.ts); this adapter only asks the source (its dialect)
// for key bounds.
import { schemaOf, tableKey } from '../catalog/schemas.ts';
import { holdsRows } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import type { Settings } from '../api/settings.ts';
import type { SourceSession } from '../source/dialect.ts';
import { chunkCount, chunksFrom, splitBy, wholeTable, type Chunk } from './chunks.ts';
import { bytesCost, costFromReport, planGroups, type Group, type PreviousReport } from './groups.ts';

export interface Plan {
  groups: Group[];
  chunks: number;
  estBytes: number;
  estRows: number;
}

export async function chunkTable(
  src: Pick<SourceSession, 'boundaries'>,
  schema: string,
  table: Table,
  s: Settings,
): Promise<Chunk[]> {
  const n = chunkCount(table, s.splitAboveBytes, s.chunkRows);
  if (n === 1) return [wholeTable(table)];
  const by = splitBy(table, s.mode === 'DowntimeOptimized');
  return chunksFrom(table, by, await src.boundaries(table, schema, by, n));
}

export async function buildPlan(
  src: Pick<SourceSession, 'boundaries'>,
  catalog: Catalog,
  s: Settings,
  previous?: PreviousReport,
): Promise<Plan> {
  const tables = catalog.tables.filter(holdsRows);
  const chunks: Chunk[] = [];
  for (const t of tables) chunks.push(...(await chunkTable(src, schemaOf(catalog, t), t, s)));
  const bytesOf = new Map(tables.map((t) => [tableKey(t), t.heapBytes]));
  const cost = previous ? costFromReport(previous, (t) => bytesOf.get(t) ?? 0) : bytesCost;
  return {
    groups: planGroups(chunks, s.tableGroups, cost),
    chunks: chunks.length,
    estBytes: tables.reduce((a, t) => a + t.heapBytes, 0),
    estRows: tables.reduce((a, t) => a + t.rowEstimate, 0),
  };
}

export const allChunks = (plan: Plan): Chunk[] => plan.groups.flatMap((g) => g.chunks);
