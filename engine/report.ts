// The run report: per-table durations and rates. Saved by the CLI and fed to the next run's plan
// (`ferry plan --report`), so table groups balance on measured times instead of size estimates.
import type { InventoryEntry } from './catalog/objects-types.ts';
import type { PhaseRecord } from './phases/phase.ts';

export interface TableReport {
  table: string;
  rows: number;
  bytes: number;
  /** Sum of the table's chunk copy times. */
  seconds: number;
  rowsPerSecond: number;
}

export interface Report {
  migration: string;
  mode: string;
  startedAt: string;
  finishedAt: string;
  phases: PhaseRecord[];
  tables: TableReport[];
  totals: { rows: number; bytes: number; transferSeconds: number };
  validation: string;
  /** Every object of the source schema and what became of it. */
  objects?: ObjectReport[];
  /** DowntimeOptimized: from the source's write lock to done, and its steps. */
  downtimeSeconds?: number;
  downtime?: { step: string; seconds: number }[];
}

export interface ObjectReport {
  kind: string;
  name: string;
  status: 'migrated' | 'skipped';
  /** Why it was skipped: not selected, or what ferry cannot migrate (spec.objects.skipUnsupported). */
  reason?: string;
}

export function objectReports(inventory: InventoryEntry[]): ObjectReport[] {
  return inventory.map((e) =>
    e.status === 'migrated'
      ? { kind: e.kind, name: e.name, status: 'migrated' }
      : { kind: e.kind, name: e.name, status: 'skipped', reason: e.reason ?? e.status },
  );
}

export function tableReports(
  done: Iterable<{ chunk: string; rows: number; bytes: number; seconds: number }>,
  tableOf: (chunk: string) => string | undefined,
): TableReport[] {
  const by = new Map<string, TableReport>();
  for (const d of done) {
    const table = tableOf(d.chunk);
    if (table === undefined) continue;
    const t = by.get(table) ?? { table, rows: 0, bytes: 0, seconds: 0, rowsPerSecond: 0 };
    t.rows += d.rows;
    t.bytes += d.bytes;
    t.seconds += d.seconds;
    by.set(table, t);
  }
  return [...by.values()]
    .map((t) => ({
      ...t,
      seconds: Math.round(t.seconds * 1000) / 1000,
      rowsPerSecond: t.seconds > 0 ? Math.round(t.rows / t.seconds) : 0,
    }))
    .sort((a, b) => b.seconds - a.seconds);
}
