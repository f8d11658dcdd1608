// The benchmark's arithmetic and its tables: medians, spreads and ratios of measured runs. Pure.
import { table } from '../engine/cli/render.ts';

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
