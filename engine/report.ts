// The run report: per-table durations and rates. Saved by the CLI and fed to the next run's plan
// (`ferry plan --report`), so table groups balance on measured times instead of size estimates.
import type { InventoryEntry } from './catalog/objects-types.ts';
import type { PhaseRecord } from './phases/phase.ts';
import type { Work } from './state/progress.ts';

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
  /** Where the time went, stage by stage (copy, build, foreign keys, analyze, validate, ...). */
  stages?: StageReport[];
  /** Every object of the source schema and what became of it. */
  objects?: ObjectReport[];
  /** DowntimeOptimized: from the source's write lock to done, and its steps. */
  downtimeSeconds?: number;
  downtime?: { step: string; seconds: number }[];
}

export interface StageReport {
  stage: string;
  jobs: number;
  /** The jobs' durations summed (several run at once, so this can exceed the wall time). */
  seconds: number;
  /** From the first job's start to the last one's end. */
  wallSeconds: number;
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

const STAGES: Record<string, string> = {
  copy: 'copy',
  pk: 'build',
  unique: 'build',
  check: 'build',
  exclusion: 'build',
  index: 'build',
  fk: 'foreign keys',
  analyze: 'analyze',
  validate: 'validate',
  setval: 'sequences',
};

/** Time per stage, from the recorded chunks and steps (a step's stage from its kind: `index:...`). */
export function stageReports(work: readonly Work[]): StageReport[] {
  const by = new Map<string, { jobs: number; seconds: number; start: number; end: number }>();
  for (const w of work) {
    const stage = STAGES[w.what.split(':')[0]!] ?? 'objects';
    const s = by.get(stage) ?? { jobs: 0, seconds: 0, start: Infinity, end: -Infinity };
    s.jobs++;
    s.seconds += w.seconds;
    s.start = Math.min(s.start, w.endedAt - w.seconds * 1000);
    s.end = Math.max(s.end, w.endedAt);
    by.set(stage, s);
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const order = ['copy', 'build', 'foreign keys', 'analyze', 'validate', 'sequences', 'objects'];
  return [...by]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([stage, s]) => ({
      stage,
      jobs: s.jobs,
      seconds: round(s.seconds),
      wallSeconds: round((s.end - s.start) / 1000),
    }));
}
