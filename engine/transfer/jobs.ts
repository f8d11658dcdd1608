// Runs scheduled jobs (schedule.ts) in one pool of slots: whenever a slot is free it takes the job
// nextJob allows, so no slot idles while any job could start. Each slot keeps its own state (its
// connections). The first failure stops the slots from taking new jobs and is rethrown once the
// running ones end; a failure `defer` accepts sets the job aside instead (what waits for it too) and
// the others go on. When nothing can start here, `refresh` may bring news of work done elsewhere.
// A job can ask how many slots stand idle (nothing else could start): work it may spread over.
import { isDone, nextJob, type Job } from './schedule.ts';

export interface RunJobsOptions<S> {
  slots: number;
  open: () => S;
  close: (slot: S) => Promise<void>;
  /** What is done by now, others' work included: asked when nothing here can start. */
  refresh?: () => Promise<Iterable<string>>;
  /** Whether a failure is set aside rather than stopping the run. */
  defer?: (job: Job, error: unknown) => boolean;
}

/** Runs what it can of `jobs`, adding each finished job's id to `done`; returns the jobs left undone. */
export async function runJobs<S>(
  jobs: readonly Job[],
  done: Set<string>,
  exec: (job: Job, slot: S, idle: () => number) => Promise<void>,
  opts: RunJobsOptions<S>,
): Promise<Job[]> {
  const slots = Array.from({ length: Math.max(1, opts.slots) }, opts.open);
  const free = [...slots];
  const running = new Map<Job, Promise<void>>();
  const failed = new Set<string>();
  let failure: { error: unknown } | undefined;
  try {
    const idle = () => free.length;
    const startable = () =>
      free.length && !failure ? nextJob(jobs, done, [...running.keys()], failed) : undefined;
    for (;;) {
      for (let job = startable(); job; job = startable()) {
        const j = job;
        const slot = free.pop()!;
        const ran = exec(j, slot, idle).then(
          () => void done.add(j.id),
          (error: unknown) => {
            if (opts.defer?.(j, error)) failed.add(j.id);
            else failure ??= { error };
          },
        );
        running.set(
          j,
          ran.finally(() => {
            running.delete(j);
            free.push(slot);
          }),
        );
      }
      if (running.size) {
        await Promise.race(running.values());
        continue;
      }
      if (failure) throw failure.error;
      const left = jobs.filter((j) => !isDone(j, done));
      if (!left.length || !opts.refresh) return left;
      const before = done.size;
      for (const id of await opts.refresh()) done.add(id);
      if (done.size === before) return left;
    }
  } finally {
    await Promise.all(slots.map(opts.close));
  }
}
