// The transfer plan: every selected table that holds rows (not a partitioned table: each of its
// partitions is a table of its own here) cut into chunks, the chunks balanced into table groups.
// The decisions are pure (chunks.ts, groups.ts); this adapter only asks the source for key bounds.
import { schemaOf, tableKey } from '../catalog/schemas.ts';
import { holdsRows, rowsOf } from '../catalog/relations.ts';
import type { Catalog, Table } from '../catalog/types.ts';
import type { Client } from '../db/connect.ts';
import { quoteIdent } from '../db/ident.ts';
import type { Settings } from '../api/settings.ts';
import {
  chunkCount,
  chunksFrom,
  ctidBoundaries,
  integerBoundaries,
  sampleBoundaries,
  splitBy,
  wholeTable,
  type Chunk,
  type SplitBy,
} from './chunks.ts';
import { bytesCost, costFromReport, planGroups, type Group, type PreviousReport } from './groups.ts';

export interface Plan {
  groups: Group[];
  chunks: number;
  estBytes: number;
  estRows: number;
}

const PAGE = 8192;
const SAMPLE_ROWS = 20_000;

async function boundaries(
  src: Client,
  schema: string,
  table: Table,
  by: SplitBy,
  n: number,
): Promise<(string | number)[]> {
  if (by.kind === 'ctid') return ctidBoundaries(Math.ceil(table.heapBytes / PAGE), n);
  const col = quoteIdent(by.column);
  const from = rowsOf(schema, table);
  if (by.integer) {
    const { rows } = await src.query<{ lo: string | null; hi: string | null }>(
      `SELECT min(${col})::text AS lo, max(${col})::text AS hi FROM ${from}`,
    );
    const { lo, hi } = rows[0]!;
    return lo === null || hi === null ? [] : integerBoundaries(BigInt(lo), BigInt(hi), n);
  }
  const percent = Math.min(100, Math.max(0.01, (100 * SAMPLE_ROWS) / Math.max(table.rowEstimate, 1)));
  const { rows } = await src.query<{ k: string }>(
    `SELECT ${col}::text AS k FROM ${from} TABLESAMPLE SYSTEM (${percent.toFixed(4)}) ORDER BY ${col}`,
  );
  return sampleBoundaries(
    rows.map((r) => r.k),
    n,
  );
}

export async function chunkTable(src: Client, schema: string, table: Table, s: Settings): Promise<Chunk[]> {
  const n = chunkCount(table, s.splitAboveBytes, s.chunkRows);
  if (n === 1) return [wholeTable(table)];
  const by = splitBy(table, s.mode === 'DowntimeOptimized');
  return chunksFrom(table, by, await boundaries(src, schema, table, by, n));
}

export async function buildPlan(
  src: Client,
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
