// Balancing chunks into table groups: longest processing time first (LPT), a greedy schedule that is
// within 4/3 of the optimum. Cost is the chunk's estimated bytes, or, when an earlier run's report is
// given, the seconds its table took, spread over the table's chunks by size.
import type { Chunk } from './chunks.ts';

export interface Group {
  id: number;
  chunks: Chunk[];
  cost: number;
}

export type CostOf = (chunk: Chunk) => number;

export const bytesCost: CostOf = (c) => Math.max(c.estBytes, 8192);

export function costFromReport(report: PreviousReport, tableBytes: (table: string) => number): CostOf {
  const seconds = new Map(report.tables.map((t) => [t.table, t.seconds]));
  const rate =
    report.tables.reduce((s, t) => s + t.bytes, 0) /
    Math.max(
      report.tables.reduce((s, t) => s + t.seconds, 0),
      1e-6,
    );
  return (c) => {
    const known = seconds.get(c.table);
    const share = c.estBytes / Math.max(tableBytes(c.table), 1);
    // Tables new since the report fall back to the earlier run's overall rate.
    return known !== undefined ? known * share : bytesCost(c) / Math.max(rate, 1);
  };
}

export interface PreviousReport {
  tables: { table: string; rows: number; bytes: number; seconds: number }[];
}

export function planGroups(chunks: readonly Chunk[], groups: number, cost: CostOf = bytesCost): Group[] {
  const n = Math.max(1, Math.min(groups, chunks.length));
  const out: Group[] = Array.from({ length: n }, (_, i) => ({ id: i + 1, chunks: [], cost: 0 }));
  const sorted = [...chunks].sort((a, b) => cost(b) - cost(a) || a.id.localeCompare(b.id));
  for (const chunk of sorted) {
    const lightest = out.reduce((min, g) => (g.cost < min.cost ? g : min));
    lightest.chunks.push(chunk);
    lightest.cost += cost(chunk);
  }
  return out;
}
