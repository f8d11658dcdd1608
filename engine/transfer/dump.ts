// The filesystem dump (spec.transfer.method: Dump): the export writes each chunk of the table groups
// into a file of the dump directory, the import loads each file into the target. Both run the groups
// in parallel like the pipe, each chunk resumable on its own: an export skips chunks whose record
// exists (the file is durable before its record), an import skips chunks whose done-row committed.
// Overlapped (ferry run's default) a chunk imports as soon as its file is recorded; otherwise the
// import starts when the export is done. Either stage runs alone on a subset of the groups against
// a directory, which is what a transfer Pod with a mounted volume needs.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, withClient, type Client, type Endpoint } from '../db/connect.ts';
import {
  anyManifest,
  ensureManifest,
  exportedChunks,
  manifestPath,
  readManifest,
  removeDump,
  sealManifest,
  writeChunkRecord,
  writeCompletion,
} from '../dump/directory.ts';
import {
  chunkFiles,
  COMPRESSION,
  DUMP_FORMAT,
  dumpIdentity,
  DumpError,
  expectedMeasure,
  manifestProblem,
  type ChunkFile,
  type Completion,
  type DumpManifest,
  type StoredDump,
} from '../dump/format.ts';
import { faultPoint } from '../faults.ts';
import { need, type Context } from '../phases/context.ts';
import type { Chunk } from '../plan/chunks.ts';
import type { Group } from '../plan/groups.ts';
import { allChunks } from '../plan/plan.ts';
import { formatBytes, ProgressTracker } from '../progress.ts';
import { doneChunks, type ChunkDone } from '../state/progress.ts';
import {
  withSource,
  type SharedSnapshot,
  type SourceDialect,
  type SourceSession,
} from '../source/dialect.ts';
import { withState } from '../state/at.ts';
import { readIdentity, type Identity } from '../state/shadow.ts';
import { runPool } from '../util/pool.ts';
import type { Report } from '../report.ts';
import type { Measure, Unit } from '../validate/compare.ts';
import { exportChunk, importChunk } from './dump-file.ts';
import { chunkCopy } from './table-copy.ts';
import { retryChunk, selectGroups, transferGroups, type TransferOptions } from './transfer.ts';

export type DumpStage = 'export' | 'import' | 'both';

export interface DumpOptions extends TransferOptions {
  /** Export only, import only (the files must be there), or both: overlapped unless spec.transfer.overlap is false. */
  stage?: DumpStage;
  /** The dump directory; spec.transfer.dumpDir by default (ferry import: --from). */
  dir?: string;
}

/** The memory pipe or the dump, as the manifest says. The cutover's downtime tables always take the pipe. */
export const transferData = (ctx: Context, opts: TransferOptions = {}): Promise<ChunkDone[]> =>
  ctx.settings.method === 'Dump' ? dumpTransfer(ctx, opts) : transferGroups(ctx, opts);

export const dumpDirOf = (ctx: Context): string => need(ctx.settings.dumpDir, 'spec.transfer.dumpDir');

/** The manifest of this migration's export: the shadow schema's owner uid tells this export from any earlier one. */
export async function openExport(ctx: Context, dir: string): Promise<DumpManifest> {
  const s = ctx.settings;
  const stored = await withSource(ctx.source, 'dump', (src) => src.getState<Identity>('identity'));
  const fresh: DumpManifest = {
    ferryDump: DUMP_FORMAT,
    migration: dumpIdentity(s),
    exportId: readIdentity(need(stored, 'shadow identity')).uid,
    source: `${s.source.host}:${s.source.port}/${s.source.database}`,
    mode: s.mode,
    validation: s.validation,
    compression: COMPRESSION,
    createdAt: new Date().toISOString(),
    catalog: need(ctx.catalog, 'catalog'),
    plan: need(ctx.plan, 'plan'),
  };
  return ensureManifest(dir, s, fresh);
}

/** Dump: whether this migration's export has a chunk's file already (a killed run's). */
export async function chunksExported(ctx: Context): Promise<boolean> {
  if (ctx.settings.method !== 'Dump') return false;
  const dir = dumpDirOf(ctx);
  return (await exportedChunks(dir, await openExport(ctx, dir))).size > 0;
}

/** Chunk records announced by the export as it goes, awaited by an overlapped import. */
class Announced {
  private readonly waiting = new Map<
    string,
    { promise: Promise<ChunkFile>; resolve(f: ChunkFile): void; reject(e: unknown): void }
  >();
  private failure: unknown;
  private slot(id: string) {
    let w = this.waiting.get(id);
    if (!w) {
      let resolve!: (f: ChunkFile) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<ChunkFile>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {});
      w = { promise, resolve, reject };
      this.waiting.set(id, w);
      if (this.failure !== undefined) reject(this.failure);
    }
    return w;
  }
  announce(f: ChunkFile): void {
    this.slot(f.chunk).resolve(f);
  }
  next = (id: string): Promise<ChunkFile> => this.slot(id).promise;
  /** The export stopped (failed, or is done): whatever was not announced never will be. */
  close(err: unknown): void {
    this.failure = err;
    for (const w of this.waiting.values()) w.reject(err);
  }
}

/** Reports a tracker's progress every second while `work` runs. */
async function reporting<T>(ctx: Context, tracker: ProgressTracker, work: () => Promise<T>): Promise<T> {
  const report = () => ctx.observer.progress?.(tracker.snapshot(), 'Execution');
  const timer = setInterval(report, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    report();
  }
}

const exists = (path: string, bytes: number) =>
  stat(path).then(
    (st) => st.size === bytes,
    () => false,
  );

interface Stop {
  error?: unknown;
}

/** A worker's one connection: a source session (export) or a target client (import). */
interface Side<C> {
  open(purpose: string): Promise<C>;
  close(c: C): Promise<void>;
}

const sourceSide = (from: SourceDialect | SharedSnapshot): Side<SourceSession> => ({
  open: (purpose) => from.open(purpose),
  close: (s) => s.close(),
});

const targetSide = (e: Endpoint): Side<Client> => ({
  open: (purpose) => connect(e, purpose),
  close: (c) => c.end(),
});

/**
 * Each group's chunks in order on up to `parallelism` workers, each with one connection to `side`
 * (renewed after a transient failure); `then` records what a chunk's `work` produced.
 */
async function runChunks<T, C>(
  ctx: Context,
  groups: readonly Group[],
  o: {
    side: Side<C>;
    verb: 'exporting' | 'importing';
    parallelism: number;
    /** Reported as the transfer's progress unless `quiet` (an overlapped export: the import's counts). */
    tracker: ProgressTracker;
    quiet?: boolean;
    skip: (chunk: Chunk) => boolean;
    stop?: Stop;
  },
  work: (chunk: Chunk, c: C) => Promise<T>,
  then: (chunk: Chunk, result: T) => Promise<void> | void,
): Promise<void> {
  const purpose = o.verb === 'exporting' ? 'export' : 'import';
  const open = async () => ({ c: await o.side.open(purpose) });
  const close = async (w: { c: C }) => void (await o.side.close(w.c).catch(() => {}));
  const run = () =>
    runPool(
      groups,
      o.parallelism,
      open,
      async (g, w) => {
        for (const chunk of g.chunks) {
          if (o.skip(chunk) || o.stop?.error !== undefined) continue;
          const result = await retryChunk(
            ctx,
            chunk,
            o.verb,
            () => work(chunk, w.c),
            async () => {
              o.tracker.restart(chunk.id);
              await close(w);
              w.c = await o.side.open(purpose);
            },
          );
          await then(chunk, result);
        }
      },
      close,
    );
  await (o.quiet ? run() : reporting(ctx, o.tracker, run));
}

/** Exports the groups' chunks that have no durable file yet; seals the manifest once every chunk has one. */
export async function exportGroups(
  ctx: Context,
  dir: string,
  m: DumpManifest,
  groups: readonly Group[],
  opts: {
    parallelism: number;
    /** Read the source in this snapshot (downtime-optimized bulk copy). */
    snapshot?: SharedSnapshot;
    /** Overlapped: each chunk's record as soon as it is written, for the import waiting on it. */
    announce?: (f: ChunkFile) => void;
    stop?: Stop;
  },
): Promise<DumpManifest> {
  const catalog = need(ctx.catalog, 'catalog');
  const s = ctx.settings;
  const files = chunkFiles(m.plan);
  const chunks = groups.flatMap((g) => g.chunks);
  const tracker = new ProgressTracker(chunks);
  const have = new Map<string, ChunkFile>();
  for (const [id, f] of await exportedChunks(dir, m))
    if (await exists(join(dir, f.file), f.bytes)) {
      have.set(id, f);
      tracker.alreadyDone(id, f.rows, f.rawBytes);
      opts.announce?.(f);
    }
  await runChunks(
    ctx,
    groups,
    {
      side: sourceSide(opts.snapshot ?? ctx.source),
      verb: 'exporting',
      parallelism: opts.parallelism,
      tracker,
      quiet: opts.announce !== undefined,
      skip: (c) => have.has(c.id),
      stop: opts.stop,
    },
    (chunk, src) =>
      exportChunk(src, dir, chunkCopy(catalog, chunk, s, ctx.shadow), {
        file: files.get(chunk.id)!,
        // A system move validates at the import against these; ferry run against the source itself.
        ...(ctx.move === 'export' && s.validation !== 'None' && { measure: s.validation }),
        onBytes: (n) => tracker.streamed(chunk.id, n),
      }),
    async (chunk, rec) => {
      await writeChunkRecord(dir, rec);
      faultPoint('dump.chunk-exported');
      have.set(chunk.id, rec);
      tracker.done(chunk.id, rec.rows, rec.rawBytes);
      opts.announce?.(rec);
      ctx.log.debug({ chunk: chunk.id, rows: rec.rows, file: rec.file, bytes: rec.bytes }, 'chunk exported');
    },
  );
  const mine = chunks.flatMap((c) => have.get(c.id) ?? []);
  const raw = mine.reduce((a, f) => a + f.rawBytes, 0);
  const disk = mine.reduce((a, f) => a + f.bytes, 0);
  ctx.log.info(
    { chunks: mine.length, rawBytes: raw, bytes: disk, ratio: disk ? raw / disk : null, dir },
    `exported ${mine.length} chunks: ${formatBytes(raw)} of COPY data in ${formatBytes(disk)} of files (${COMPRESSION})`,
  );
  return (await sealManifest(dir, m)) ?? m;
}

/** Imports the groups' chunks not yet committed on the target, each from the file `fileOf` gives (or waits for). */
export async function importGroups(
  ctx: Context,
  dir: string,
  groups: readonly Group[],
  opts: { parallelism: number; fileOf: (chunk: string) => Promise<ChunkFile>; stop?: Stop },
): Promise<ChunkDone[]> {
  const catalog = need(ctx.catalog, 'catalog');
  const chunks = groups.flatMap((g) => g.chunks);
  const tracker = new ProgressTracker(chunks);
  const done = await withClient(ctx.target, 'import', (c) => doneChunks(c, ctx.shadow));
  for (const [id, d] of done) tracker.alreadyDone(id, d.rows, d.bytes);
  const results: ChunkDone[] = [...done.values()];
  await runChunks(
    ctx,
    groups,
    {
      side: targetSide(ctx.target),
      verb: 'importing',
      parallelism: opts.parallelism,
      tracker,
      skip: (c) => done.has(c.id),
      stop: opts.stop,
    },
    async (chunk, c) =>
      importChunk(
        c,
        dir,
        chunkCopy(catalog, chunk, ctx.settings, ctx.shadow),
        await opts.fileOf(chunk.id),
        (n) => tracker.streamed(chunk.id, n),
      ),
    (chunk, d) => {
      faultPoint('dump.chunk-imported');
      tracker.done(chunk.id, d.rows, d.bytes);
      results.push(d);
      ctx.log.debug({ chunk: chunk.id, rows: d.rows, seconds: d.seconds }, 'chunk imported');
    },
  );
  return results;
}

/** The recorded files of a finished (or this far) export: an import-only stage needs each chunk's to be there. */
export async function recordedFiles(
  dir: string,
  m: DumpManifest,
): Promise<(chunk: string) => Promise<ChunkFile>> {
  const files = await exportedChunks(dir, m);
  return async (chunk) => {
    const f = files.get(chunk);
    if (!f)
      throw new DumpError(
        `${dir}: chunk ${chunk} is not exported yet (export it first: ferry export, or ferry transfer --stage export)`,
      );
    return f;
  };
}

/** Runs both, stopping the other when one fails; the first failure is rethrown. */
async function both<A, B>(stop: Stop, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  const halt = (err: unknown) => {
    stop.error ??= err;
    throw err;
  };
  const [x, y] = await Promise.allSettled([a().catch(halt), b().catch(halt)]);
  if (x.status === 'rejected' || y.status === 'rejected') throw stop.error;
  return [x.value, y.value];
}

/** ferry run's (and a transfer Pod's) Dump transfer of the groups asked for. */
export async function dumpTransfer(ctx: Context, opts: DumpOptions = {}): Promise<ChunkDone[]> {
  const dir = opts.dir ?? dumpDirOf(ctx);
  const stage = opts.stage ?? 'both';
  const groups = selectGroups(need(ctx.plan, 'plan'), opts);
  const parallelism = opts.parallelism ?? ctx.settings.parallelism;
  if (stage === 'import') {
    const m = await readManifest(dir, ctx.settings);
    return importGroups(ctx, dir, groups, { parallelism, fileOf: await recordedFiles(dir, m) });
  }
  const m = await openExport(ctx, dir);
  const exporting = { parallelism, ...(opts.snapshot !== undefined && { snapshot: opts.snapshot }) };
  if (stage === 'export') {
    await exportGroups(ctx, dir, m, groups, exporting);
    return [];
  }
  if (!ctx.settings.dumpOverlap) {
    await exportGroups(ctx, dir, m, groups, exporting);
    return importGroups(ctx, dir, groups, { parallelism, fileOf: await recordedFiles(dir, m) });
  }
  const announced = new Announced();
  const stop: Stop = {};
  const [, imported] = await both(
    stop,
    () =>
      exportGroups(ctx, dir, m, groups, {
        ...exporting,
        announce: (f) => announced.announce(f),
        stop,
      }).then(
        (sealed) => {
          announced.close(new DumpError('internal: a chunk was not exported'));
          return sealed;
        },
        (err: unknown) => {
          // The export's error is the run's; the waiting import gets one it will not retry.
          stop.error ??= err;
          announced.close(new DumpError('the export stopped'));
          throw err;
        },
      ),
    () => importGroups(ctx, dir, groups, { parallelism, fileOf: announced.next, stop }),
  );
  return imported;
}

/**
 * ferry import: what the target must show for each validation unit, from the export's digests as the
 * import's bookkeeping stored them (its PreProcessing, from the verified manifest): no directory needed.
 */
export async function dumpDigests(ctx: Context): Promise<(u: Unit) => Measure> {
  const m = need(await withState(ctx, 'validate', (st) => st.getState<StoredDump>('dump')), 'stored dump');
  const files = new Map(Object.entries(need(m.chunks, 'exported chunks')));
  // The plan the units come from: ranges compare by their JSON, which jsonb storage may reorder.
  const plan = need(ctx.plan, 'plan');
  return (u) => expectedMeasure(plan, files, u);
}

/** ferry import: the completion record ferry export --complete reads, in the import's copy of the directory. */
export async function recordCompletion(ctx: Context, report: Report): Promise<Completion> {
  const dir = dumpDirOf(ctx);
  const m = await readManifest(dir, ctx.settings);
  const s = ctx.settings;
  const completion: Completion = {
    ferryDump: DUMP_FORMAT,
    migration: m.migration,
    exportId: m.exportId,
    target: `${s.target.host}:${s.target.port}/${s.target.database} ${s.schemas.map((p) => p.target).join(', ')}`,
    importedAt: new Date().toISOString(),
    chunks: allChunks(m.plan).length,
    rows: report.totals.rows,
    validation: s.validation,
  };
  await writeCompletion(dir, completion);
  return completion;
}

/** Removes the files of this migration's dump (never another's, nor an earlier export's); how many. */
export async function removeOwnDump(ctx: Context, exportId: string): Promise<number | undefined> {
  const dir = ctx.settings.dumpDir;
  if (ctx.settings.method !== 'Dump' || !dir) return undefined;
  const doc = await anyManifest(dir).catch(() => undefined);
  if (doc === undefined || manifestProblem(manifestPath(dir), doc, ctx.settings)) return undefined;
  const m = doc as DumpManifest;
  if (m.exportId !== exportId) return undefined;
  return removeDump(dir, m);
}
