// The benchmark's arithmetic and its tables: medians, spreads and ratios of measured runs. Pure.
import { table } from '../engine/cli/render.ts';
import type { Measurement } from './jobs.ts';

const MiB = 2 ** 20;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export const spread = (xs: readonly number[]): Spread => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
});

/** One job's measured runs at one size. */
export interface JobRuns {
  label: string;
  /** Wall seconds of each run, in run order. */
  seconds: number[];
  /** The job ferry is compared against (a baseline): its ratio is printed. */
  baseline: boolean;
}

const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/**
 * Seconds (median, min-max) per job and each baseline's ratio to `reference` (baseline/ferry on
 * medians: above 1 means ferry is faster).
 */
export function secondsTable(jobs: readonly JobRuns[], reference: JobRuns | undefined): string {
  const ref = reference ? median(reference.seconds) : NaN;
  return table(
    ['job', 'median s', 'min-max s', 'runs', 'baseline/ferry'],
    jobs.map((j) => {
      const s = spread(j.seconds);
      return [
        j.label,
        fixed(s.median),
        `${fixed(s.min)}-${fixed(s.max)}`,
        String(j.seconds.length),
        j.baseline ? fixed(s.median / ref, 2) : '',
      ];
    }),
  );
}

/** Checksum validation's extra cost: the difference of the medians, and its share of the Checksum run. */
export function extraCost(
  count: readonly number[],
  checksum: readonly number[],
): { seconds: number; share: number } {
  const c = median(checksum);
  const seconds = c - median(count);
  return { seconds, share: seconds / c };
}

/** The medians of each phase's seconds over several runs' phase lists, in first-seen order. */
export function phaseMedians(runs: readonly { phase: string; seconds?: number }[][]): [string, number][] {
  const by = new Map<string, number[]>();
  for (const run of runs)
    for (const p of run)
      if (p.seconds !== undefined) by.set(p.phase, [...(by.get(p.phase) ?? []), p.seconds]);
  return [...by].map(([phase, xs]) => [phase, median(xs)]);
}

/** Rows: baselines; columns: sizes; cells: baseline/reference ratio of the medians at that size. */
export function ratioTable(
  sizes: readonly string[],
  bySize: readonly (readonly JobRuns[])[],
  reference: string,
): string {
  const labels = [...new Set(bySize.flatMap((jobs) => jobs.filter((j) => j.baseline).map((j) => j.label)))];
  return table(
    ['baseline/ferry', ...sizes],
    labels.map((label) => [
      label,
      ...bySize.map((jobs) => {
        const ref = jobs.find((j) => j.label === reference);
        const job = jobs.find((j) => j.label === label);
        return ref && job ? fixed(median(job.seconds) / median(ref.seconds), 2) : '-';
      }),
    ]),
  );
}

/** What a result lacks (`missing: `) and has beyond (`unexpected: `) the expected lines. */
export function differences(expected: readonly string[], got: readonly string[]): string[] {
  return [
    ...expected.filter((l) => !got.includes(l)).map((l) => `missing: ${l}`),
    ...got.filter((l) => !expected.includes(l)).map((l) => `unexpected: ${l}`),
  ];
}

/** The runs' peak RSS in MiB, median and max; undefined when no run measured it. */
export function peakRss(ms: readonly Measurement[]): { median: number; max: number } | undefined {
  const rss = ms.flatMap((m) => (m.peakRss === undefined ? [] : [m.peakRss / MiB]));
  return rss.length ? { median: median(rss), max: Math.max(...rss) } : undefined;
}

/** ferry's phases (medians), the seconds outside them, and its peak RSS over several runs. */
export function ferryLines(label: string, ms: readonly Measurement[]): string[] {
  const phases = phaseMedians(ms.map((m) => m.phases ?? []));
  // The process's start (loading the modules) and exit are in the wall time but in no phase.
  const outside = median(
    ms.map((m) => m.seconds - (m.phases ?? []).reduce((a, p) => a + (p.seconds ?? 0), 0)),
  );
  const rss = peakRss(ms);
  return [
    `${label}: phases (median s) ${phases.map(([p, s]) => `${p} ${s.toFixed(1)}`).join(', ')}; ` +
      `outside the phases (start, exit) ${outside.toFixed(1)}`,
    rss
      ? `  peak RSS (ferry run is one process, the transfer runs in it): median ${rss.median.toFixed(0)} MiB, max ${rss.max.toFixed(0)} MiB (goal: under 256 MiB)`
      : '  peak RSS: not measured (GNU time not found on PATH)',
  ];
}

/**
 * The MySQL scenario's goals on the medians (issue 12): pgloader's seconds over ferry's from
 * MariaDB (at least 3x), and ferry from MariaDB against ferry from PostgreSQL on the same rows
 * (pg seconds over MariaDB seconds: at least 0.7x). A job that did not run gives no line.
 */
export function mysqlGoals(
  ferry: readonly number[],
  pgloader?: readonly number[],
  ferryPg?: readonly number[],
): string[] {
  const f = median(ferry);
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
  const lines: string[] = [];
  if (pgloader?.length) {
    const r = median(pgloader) / f;
    lines.push(
      `ferry from MariaDB is ${fixed(r, 2)}x as fast as pgloader (goal: at least 3x, ${verdict(r >= 3)})`,
    );
  }
  if (ferryPg?.length) {
    const r = median(ferryPg) / f;
    lines.push(
      `ferry from MariaDB runs at ${fixed(r, 2)}x its speed from PostgreSQL on the same rows (goal: at least 0.7x, ${verdict(r >= 0.7)})`,
    );
  }
  return lines;
}
