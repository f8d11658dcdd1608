// The load and what follows it, table by table, in one pool of `parallelism` slots (schedule.ts
// decides, jobs.ts runs): chunk copies, largest tables first; as soon as a table is loaded, its keys,
// constraints and indexes; its foreign keys once the referenced table is built too; ANALYZE; the
// validation of its rows. Each slot has a source and a target connection, opened when a job needs
// them. Nothing that finished is repeated by a run killed later: chunks and steps commit with their
// done-rows, validations are recorded once they pass. Transient failures (a dropped connection, a
// restarted server) are retried with backoff; anything else stops the run naming table and job.
import { setTimeout as sleep } from 'node:timers/promises';
import type { PostLoadStep } from '../catalog/ddl.ts';
import { connect, withClient, type Client } from '../db/connect.ts';
import { faultPoint } from '../faults.ts';
import { assertNoWritesSeen, FenceError } from '../fence/fence.ts';
import { need, type Context } from '../phases/context.ts';
import type { SharedSnapshot, SourceSession } from '../source/dialect.ts';
import { describeRange, type Chunk } from '../plan/chunks.ts';
import { allChunks } from '../plan/plan.ts';
import { ProgressTracker } from '../progress.ts';
import { doneChunks, doneSteps, markStepDone, recordsDigests, type ChunkDone } from '../state/progress.ts';
import {
  digestsOnCopy,
  validateUnit,
  validationUnits,
  ValidationError,
  type Measure,
  type Unit,
} from '../validate/compare.ts';
import { CopyDigest } from '../validate/digest.ts';
import { backoffMs, transientBudget, TransferError } from './errors.ts';
import { runJobs } from './jobs.ts';
import { copyChunk } from './pipe.ts';
import { buildWorkers, copyId, isDone, planJobs, type Job } from './schedule.ts';
import { addNotValid, runStep, stepError } from './steps.ts';
import { chunkCopy, tableOf } from './table-copy.ts';

/**
 * A transfer Pod does not wait on others' locks for long (another Pod building the same table): a job
 * that would is left for the operator.
 */
const POD_LOCK_TIMEOUT = '2s';

export interface TableJobsOptions {
  /** The chunks to copy here; none by default (copied elsewhere, or earlier). */
  copies?: readonly Chunk[];
  /** Build and foreign key steps (after-load.ts stageOf). */
  steps?: readonly PostLoadStep[];
  /** ANALYZE each table, and validate it as settings.validation says. */
  analyzeAndValidate?: boolean;
  /** Slots; settings.parallelism by default. */
  parallelism?: number;
  /** Read the source in this snapshot (downtime-optimized initial copy). */
  snapshot?: SharedSnapshot;
  /**
   * Record each copied chunk's source digest for the validation: only where the source cannot have
   * changed since (Standard mode: the fence is up), and where its dialect's COPY rows are the bytes
   * the target's COPY writes back (SourceDialect.copyDigests).
   */
  digests?: boolean;
  /** ferry import: validate against the export's measures (the source is not read). */
  expected?: (u: Unit) => Measure;
  /**
   * A transfer Pod: it copies its group and does what it can of the rest; jobs other than copies that
   * fail are left for the operator's Execution, which fails with the right reason.
   */
  defer?: boolean;
}

interface Slot {
  src?: SourceSession;
  dst?: Client;
  /** The target's max_parallel_maintenance_workers for ferry's role, read with the connection. */
  buildWorkers?: number;
}

interface Recorded {
  chunks: Map<string, ChunkDone>;
  steps: Set<string>;
}

const readRecorded = (ctx: Context): Promise<Recorded> =>
  withClient(ctx.target, 'transfer', async (c) => ({
    chunks: await doneChunks(c, ctx.shadow),
    steps: await doneSteps(c, ctx.shadow),
  }));

const doneIds = (r: Recorded): string[] => [...[...r.chunks.keys()].map(copyId), ...r.steps];

/** Runs the jobs; returns every chunk of `copies` that is copied (before or now). */
export async function runTableJobs(ctx: Context, opts: TableJobsOptions): Promise<ChunkDone[]> {
  const plan = need(ctx.plan, 'plan');
  const catalog = need(ctx.catalog, 'catalog');
  const s = ctx.settings;
  const copies = opts.copies ?? [];
  const checks = opts.analyzeAndValidate === true;
  const jobs = planJobs({
    catalog,
    settings: s,
    chunks: allChunks(plan),
    copies,
    steps: opts.steps ?? [],
    analyze: checks,
    units: checks && s.validation !== 'None' ? validationUnits(catalog, plan) : [],
  });
  const recorded = await readRecorded(ctx);
  const done = new Set(doneIds(recorded));
  // Every chunk recorded so far, this run's included: validation reads their digests and rows.
  const chunks = new Map(recorded.chunks);
  const takeDigests =
    opts.digests === true &&
    s.validation === 'Checksum' &&
    ctx.source.copyDigests &&
    (await withClient(ctx.target, 'transfer', (c) => recordsDigests(c, ctx.shadow)));
  const tracker = new ProgressTracker(copies);
  for (const c of copies) {
    const d = recorded.chunks.get(c.id);
    if (d) tracker.alreadyDone(c.id, d.rows, d.bytes);
  }
  const copied = copies.flatMap((c) => recorded.chunks.get(c.id) ?? []);
  const finished = !checks
    ? 'table built'
    : s.validation === 'None'
      ? 'table built and analyzed'
      : 'table built, analyzed and validated';
  const left = new Map<string, number>();
  for (const j of jobs) if (!isDone(j, done)) left.set(j.table, (left.get(j.table) ?? 0) + 1);

  const purpose = copies.length ? 'transfer' : 'build';
  const src = async (slot: Slot) => (slot.src ??= await (opts.snapshot ?? ctx.source).open(purpose));
  const dst = async (slot: Slot) => {
    if (slot.dst) return slot.dst;
    slot.dst = await connect(ctx.target, purpose);
    if (opts.defer) await slot.dst.query(`SET lock_timeout = '${POD_LOCK_TIMEOUT}'`);
    const { rows } = await slot.dst.query<{ n: string }>(
      "SELECT current_setting('max_parallel_maintenance_workers') AS n",
    );
    slot.buildWorkers = Number(rows[0]!.n);
    return slot.dst;
  };
  const close = async (slot: Slot) => {
    await Promise.all([slot.src?.close().catch(() => {}), slot.dst?.end().catch(() => {})]);
    delete slot.src;
    delete slot.dst;
  };

  const run = async (job: Job, slot: Slot, idle: () => number): Promise<void> => {
    switch (job.kind) {
      case 'copy': {
        const { chunk } = job;
        const spec = chunkCopy(catalog, chunk, s, ctx.shadow);
        const digest =
          takeDigests && digestsOnCopy(tableOf(catalog, chunk.table))
            ? new CopyDigest(spec.binary)
            : undefined;
        const d = await copyChunk(
          await src(slot),
          await dst(slot),
          spec,
          (n) => tracker.streamed(chunk.id, n),
          digest,
        );
        faultPoint('transfer.chunk-committed');
        tracker.done(chunk.id, d.rows, d.bytes);
        copied.push(d);
        chunks.set(chunk.id, d);
        ctx.log.debug({ chunk: chunk.id, rows: d.rows, seconds: d.seconds }, 'chunk committed');
        return;
      }
      case 'fk-add':
        return addNotValid(await dst(slot), s.target.schema, {
          name: job.id,
          sql: job.sql,
          schema: job.schema,
        });
      case 'validate': {
        const t0 = performance.now();
        const expected = opts.expected;
        const conns = { src: expected ? undefined : await src(slot), dst: await dst(slot) };
        // opts.digests: Standard mode, the source fenced since the copy.
        await validateUnit(ctx, conns, catalog, job.unit, {
          recorded: chunks,
          expected,
          sourceUnchanged: opts.digests === true,
        }).catch(async (err: unknown) => {
          // A source that changed under a detecting fence: that is the cause to report.
          if (err instanceof ValidationError && s.fenceMode === 'Detect' && !expected)
            await assertNoWritesSeen(ctx);
          throw err;
        });
        await markStepDone(conns.dst, ctx.shadow, job.id, (performance.now() - t0) / 1000);
        faultPoint('validate.unit-done');
        return;
      }
      default:
        return runStep(
          await dst(slot),
          ctx.shadow,
          s.target.schema,
          {
            name: job.id,
            sql: job.sql,
            schema: job.schema,
            parallelWorkers: buildWorkers(slot.buildWorkers!, idle()),
          },
          ctx.log,
        );
    }
  };

  const named = (job: Job, err: unknown): unknown => {
    if (job.kind === 'copy') {
      const where = `table ${job.table}, chunk ${job.chunk.id} (${describeRange(job.chunk.range)})`;
      return new TransferError(job.table, `copying ${where} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (job.kind !== 'validate') return stepError(job.id, job.table, err);
    if (err instanceof ValidationError || err instanceof FenceError) return err;
    const where = `table ${job.table}${job.unit.range ? `, ${describeRange(job.unit.range)}` : ''}`;
    return Object.assign(new Error(`validating ${where} failed: ${(err as Error).message}`, { cause: err }), {
      code: (err as { code?: string }).code,
    });
  };

  const exec = async (job: Job, slot: Slot, idle: () => number): Promise<void> => {
    const retry = transientBudget();
    for (let attempt = 1; ; attempt++) {
      try {
        await run(job, slot, idle);
        break;
      } catch (err) {
        if (job.kind === 'copy') tracker.restart(job.chunk.id);
        if (!retry(err)) throw named(job, err);
        ctx.log.warn({ job: job.id, attempt, error: (err as Error).message }, 'failed, retrying');
        ctx.observer.retrying?.((err as Error).message);
        await sleep(backoffMs(attempt));
        await close(slot);
      }
    }
    const n = (left.get(job.table) ?? 1) - 1;
    left.set(job.table, n);
    if (n === 0 && job.kind !== 'copy') ctx.log.info({ table: job.table }, finished);
  };

  const report = () => ctx.observer.progress?.(tracker.snapshot(), 'Execution');
  const timer = copies.length ? setInterval(report, 1000) : undefined;
  try {
    const undone = await runJobs(jobs, done, exec, {
      slots: opts.parallelism ?? s.parallelism,
      open: () => ({}),
      close,
      refresh: async () => {
        const r = await readRecorded(ctx);
        for (const [id, d] of r.chunks) chunks.set(id, d);
        return doneIds(r);
      },
      defer: opts.defer
        ? (job, err) => {
            if (job.kind === 'copy') return false;
            ctx.log.warn({ job: job.id, error: (err as Error).message }, 'left for the operator to finish');
            return true;
          }
        : undefined,
    });
    if (undone.length && !opts.defer)
      throw new Error(
        `internal: ${undone.length} jobs could not start, e.g. ${undone
          .slice(0, 3)
          .map((j) => j.id)
          .join(', ')}`,
      );
    const units = jobs.filter((j) => j.kind === 'validate').length;
    if (units && !undone.length)
      ctx.log.info(
        { units, how: s.validation },
        opts.expected ? "target validated equal to the export's digests" : 'target validated equal to source',
      );
  } finally {
    clearInterval(timer);
    if (copies.length) report();
  }
  return copied;
}
