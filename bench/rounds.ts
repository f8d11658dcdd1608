// What the comparing scenarios (standard, mysql) share: leaving out jobs whose tools are missing,
// running the jobs interleaved (A B C, A B C, ...), and the sizes one after the other with the
// ratios side by side at the end.
import { formatBytes } from '../engine/progress.ts';
import type { Job, Measurement } from './jobs.ts';
import { ratioTable, type JobRuns } from './stats.ts';

/** The jobs whose tools are on PATH; a line for each one left out. */
export function available<J extends Pick<Job, 'missing' | 'label'>>(
  jobs: readonly J[],
  parallelism: number,
): J[] {
  return jobs.filter((job) => {
    const missing = job.missing();
    if (missing.length)
      console.log(`skipped: ${job.label(parallelism)} (${missing.join(', ')} not found on PATH)`);
    return missing.length === 0;
  });
}

/** `runs` rounds of every job once, in order; each run's seconds printed as it ends. */
export async function rounds<J extends Pick<Job, 'id'>>(
  jobs: readonly J[],
  runs: number,
  one: (job: J, run: number) => Promise<Measurement>,
): Promise<Map<J, Measurement[]>> {
  const results = new Map<J, Measurement[]>(jobs.map((j) => [j, []]));
  for (let run = 1; run <= runs; run++)
    for (const job of jobs) {
      const m = await one(job, run);
      results.get(job)!.push(m);
      console.log(`  run ${run}/${runs} ${job.id}: ${m.seconds.toFixed(1)} s`);
    }
  console.log('');
  return results;
}

/**
 * At each size a heading, then `measure` (which prints its report and returns the runs); with
 * several sizes, the baselines' ratios to `reference` side by side.
 */
export async function acrossSizes(
  sizes: readonly number[],
  heading: (size: string) => string,
  measure: (bytes: number) => Promise<JobRuns[]>,
  reference: string | undefined,
): Promise<void> {
  const labels: string[] = [];
  const bySize: JobRuns[][] = [];
  for (const bytes of sizes) {
    const label = formatBytes(bytes);
    console.log(`\n-- ${heading(label)} --`);
    bySize.push(await measure(bytes));
    labels.push(label);
  }
  if (bySize.length > 1 && reference) {
    console.log('');
    console.log(ratioTable(labels, bySize, reference));
  }
}
