// The CLI's commands. Each takes the resolved settings and returns an exit code; output goes to
// stdout (results) and stderr (logs, progress).
import { tableKey } from '../catalog/schemas.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { multiSchema, type Settings } from '../api/settings.ts';
import { withClient } from '../db/connect.ts';
import { fallback } from '../fallback.ts';
import type { Logger } from '../log.ts';
import { createContext, type Context, type Observer } from '../phases/context.ts';
import { extraction } from '../phases/extraction.ts';
import { loadTables } from '../phases/execution.ts';
import { preparation } from '../phases/preparation.ts';
import { buildPlan } from '../plan/plan.ts';
import type { PreviousReport } from '../plan/groups.ts';
import type { Report } from '../report.ts';
import { formatBytes, formatDuration, formatProgress } from '../progress.ts';
import { movedAway, readResume, runMigration } from '../run.ts';
import { anyManifest, completionPath, exportedChunks, readManifest } from '../dump/directory.ts';
import { completeExport, exportContext, exportMigration } from '../move/export.ts';
import { importContext, importFallback, importGroupsOnly, importMigration } from '../move/import.ts';
import { dumpTransfer, type DumpStage } from '../transfer/dump.ts';
import type { Phase } from '../phases/phase.ts';
import { doneChunks } from '../state/progress.ts';
import { schemaExists } from '../db/schemas.ts';
import { lostSnapshot, withSource } from '../source/dialect.ts';
import { validate } from '../validate/compare.ts';
import { transferGroups } from '../transfer/transfer.ts';
import { table } from './render.ts';
import { readUptime, writeUptime } from '../uptime/state.ts';
import { explicitApproval } from '../uptime/approval.ts';
import { readFence } from '../fence/fence.ts';
import { UsageError } from './load.ts';

/** `schema shop`, or `schemas sales, billing` for several. */
const schemasLine = (s: Settings, side: 'source' | 'target') =>
  multiSchema(s) ? `schemas ${s.schemas.map((p) => p[side]).join(', ')}` : `schema ${s[side].schema}`;

export interface CommandOptions {
  json: boolean;
  previousReport?: string;
  reportOut?: string;
  groups?: number[];
  stopAfter?: Phase;
  /** import, fallback: the dump directory (a system move's, copied to this side); export --complete: where the completion record is. */
  from?: string;
  /** export: the import succeeded; remove the shadow schema and the fence. */
  complete?: boolean;
  /** transfer with the Dump method: only this stage. */
  stage?: DumpStage;
}

/** The process's peak resident memory so far, in bytes. */
export const peakRss = () => process.resourceUsage().maxRSS * 1024;

/** Assumed heap bytes per second one worker moves, for estimates before any run was measured. */
const NOMINAL_RATE = 40e6;

function readReport(path: string | undefined): PreviousReport | undefined {
  if (!path) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PreviousReport;
  } catch (e) {
    throw new UsageError(`--previous-report ${path}: ${(e as Error).message}`);
  }
}

/** Makespan of the groups on `workers` workers, largest first: the estimated transfer duration. */
export function estimateSeconds(costs: number[], workers: number): number {
  const load = Array.from({ length: Math.max(1, workers) }, () => 0);
  for (const c of [...costs].sort((a, b) => b - a)) load[load.indexOf(Math.min(...load))]! += c;
  return Math.max(...load);
}

function progressObserver(log: Logger): Observer {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    phase: (r) => {
      if (tty && r.endedAt) process.stderr.write('\x1b[2K\r');
    },
    progress: (p, phase) => {
      if (tty) process.stderr.write(`\x1b[2K\r[${phase}] ${formatProgress(p)}`);
      else if (performance.now() - last > 10_000 || p.chunksDone === p.chunks) {
        last = performance.now();
        log.info(
          {
            rows: p.rows,
            bytes: p.bytes,
            percent: p.percent,
            bytesPerSecond: Math.round(p.bytesPerSecond),
            etaSeconds: p.etaSeconds,
          },
          `progress ${formatProgress(p)}`,
        );
      }
    },
  };
}

/** Objects of the source schema that were not migrated, each with why. */
function skippedObjects(report: Report): string[] {
  const skipped = (report.objects ?? []).filter((o) => o.status === 'skipped');
  const migrated = (report.objects ?? []).length - skipped.length;
  if (!report.objects) return [];
  return [
    '',
    `Schema objects: ${migrated} migrated, ${skipped.length} skipped`,
    ...skipped.map((o) => `  skipped ${o.kind} ${o.name}: ${o.reason}`),
  ];
}

export async function planCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  const prev = readReport(o.previousReport);
  const ctx = createContext(s, log, {}, prev);
  await preparation(ctx);
  await extraction(ctx);
  const catalog = ctx.catalog!;
  const plan = await withSource(ctx.source, 'plan', (src) => buildPlan(src, catalog, s, prev));
  const costs = plan.groups.map((g) => g.cost);
  const seconds = prev
    ? estimateSeconds(costs, s.parallelism)
    : estimateSeconds(costs, s.parallelism) / NOMINAL_RATE;
  if (o.json) {
    process.stdout.write(
      JSON.stringify({ migration: s.name, catalog, plan, estimatedSeconds: seconds }, null, 2) + '\n',
    );
    return 0;
  }
  const chunksOf = (t: string) => plan.groups.flatMap((g) => g.chunks).filter((c) => c.table === t);
  const groupsOf = (t: string) =>
    plan.groups.filter((g) => g.chunks.some((c) => c.table === t)).map((g) => g.id);
  const out = [
    `Migration ${s.name}: ${s.source.host}:${s.source.port}/${s.source.database} ${schemasLine(s, 'source')} -> ` +
      `${s.target.host}:${s.target.port}/${s.target.database} ${schemasLine(s, 'target')} (${s.mode}, ${s.method})`,
    '',
    `Tables: ${catalog.tables.length}, ${formatBytes(plan.estBytes)} of rows, about ${plan.estRows.toLocaleString('en-US')} rows`,
    table(
      ['TABLE', 'ROWS(EST)', 'SIZE', 'KEY', 'CHUNKS', 'GROUPS'],
      catalog.tables.map((t) => [
        tableKey(t),
        t.rowEstimate,
        formatBytes(t.totalBytes),
        t.key.join(',') || '(none)',
        chunksOf(tableKey(t)).length,
        groupsOf(tableKey(t)).join(','),
      ]),
    ),
    '',
    `Table groups: ${plan.groups.length}, ${s.parallelism} at once`,
    table(
      ['GROUP', 'CHUNKS', 'TABLES', prev ? 'EST. SECONDS' : 'EST. BYTES'],
      plan.groups.map((g) => [
        g.id,
        g.chunks.length,
        [...new Set(g.chunks.map((c) => c.table))].join(', '),
        prev ? Math.round(g.cost) : formatBytes(g.cost),
      ]),
    ),
    '',
    `Estimated transfer: ${formatDuration(seconds)}` +
      (prev
        ? ' (from the earlier run report)'
        : ` (assuming ${formatBytes(NOMINAL_RATE)}/s per worker; pass --previous-report for measured rates)`),
  ];
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** A manifest whose spec.systemMove names a stage runs with that stage's command only. */
function refuseStage(s: Settings, command: string, allowed?: 'Export' | 'Import'): void {
  if (s.systemMove === undefined || s.systemMove === allowed) return;
  throw new UsageError(
    `spec.systemMove.stage is ${s.systemMove}: run it with ferry ${s.systemMove.toLowerCase()}, not ferry ${command}`,
  );
}

/** How often `ferry run` resumes in a new snapshot after losing one (the operator's next passes do the same). */
const SNAPSHOT_RESUMES = 3;

export async function runCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  refuseStage(s, 'run');
  if (s.fallback) return fallbackCommand(s, log, o);
  let report: Report | undefined;
  for (let resumes = 0; ; resumes++) {
    const ctx = createContext(s, log, progressObserver(log), readReport(o.previousReport));
    try {
      report = await runMigration(ctx, o.stopAfter);
      break;
    } catch (err) {
      // What was committed stays; the run resumes from it, reading in a new snapshot.
      if (!lostSnapshot(err) || resumes >= SNAPSHOT_RESUMES) throw err;
      log.warn({ error: String((err as Error).message) }, 'resuming in a new snapshot');
    }
  }
  if (!report) {
    process.stdout.write(
      `Migration ${s.name} paused after ${o.stopAfter}; run again to continue, or fall back\n`,
    );
    return 0;
  }
  printReport(s, report, o);
  return 0;
}

/** Writes the run report and prints its summary. */
function printReport(s: Settings, report: Report, o: CommandOptions): void {
  const path = o.reportOut ?? `${s.name}.report.json`;
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
  const lines = [
    `Migration ${s.name} Completed: ${report.totals.rows.toLocaleString('en-US')} rows, ${formatBytes(report.totals.bytes)} moved, validation ${report.validation}`,
    table(
      ['PHASE', 'SECONDS'],
      report.phases.filter((p) => p.seconds !== undefined).map((p) => [p.phase, p.seconds!]),
    ),
    '',
    table(
      ['TABLE', 'ROWS', 'BYTES', 'SECONDS', 'ROWS/S'],
      report.tables.map((t) => [t.table, t.rows, t.bytes, t.seconds, t.rowsPerSecond]),
    ),
    ...(report.stages?.length
      ? [
          '',
          table(
            ['STAGE', 'JOBS', 'SECONDS (SUM)', 'WALL SECONDS'],
            report.stages.map((x) => [x.stage, x.jobs, x.seconds, x.wallSeconds]),
          ),
        ]
      : []),
    ...(report.downtimeSeconds !== undefined
      ? [
          '',
          `Downtime (application writes fenced off until done): ${report.downtimeSeconds.toFixed(2)} s`,
          table(
            ['DOWNTIME STEP', 'SECONDS'],
            (report.downtime ?? []).map((d) => [d.step, Math.round(d.seconds * 1000) / 1000]),
          ),
        ]
      : []),
    ...skippedObjects(report),
    '',
    `Report written to ${path} (feed it to the next run's plan with --previous-report)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export async function statusCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  const ctx = createContext(s, log);
  const resume = await readResume(ctx);
  if (!resume) {
    const msg = `migration ${s.name}: no shadow schema ${ctx.shadow} on the source (not started, or completed and cleaned up)`;
    process.stdout.write(o.json ? JSON.stringify({ migration: s.name, phase: null }) + '\n' : msg + '\n');
    return 0;
  }
  // An export's chunks are done when their files are; its target is not reached from here.
  const done: Map<string, { rows: number }> = resume.move
    ? await exportedSoFar(resume.move.dumpDir, s)
    : await withClient(ctx.target, 'status', async (c) =>
        (await schemaExists(c, ctx.shadow)) ? doneChunks(c, ctx.shadow) : new Map(),
      );
  const chunks = resume.plan.groups.flatMap((g) => g.chunks);
  const tables = resume.catalog.tables.map((t) => {
    const mine = chunks.filter((c) => c.table === tableKey(t));
    const finished = mine.filter((c) => done.has(c.id));
    return {
      table: tableKey(t),
      chunks: mine.length,
      done: finished.length,
      rows: finished.reduce((a, c) => a + (done.get(c.id)?.rows ?? 0), 0),
    };
  });
  const uptime = s.mode === 'DowntimeOptimized';
  const replayLag = uptime ? await withSource(ctx.source, 'status', (src) => src.lag()) : undefined;
  const fence = await withSource(ctx.source, 'status', readFence);
  const lastCutoverError = uptime ? (await readUptime(ctx)).lastCutoverError : undefined;
  if (o.json) {
    const doc = {
      migration: s.name,
      phase: resume.phase,
      ...(resume.move && { export: resume.move }),
      history: resume.history,
      tables,
      lag: replayLag,
      fence,
      lastCutoverError,
    };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return 0;
  }
  const out = [
    `Migration ${s.name}: phase ${resume.phase}`,
    table(
      ['PHASE', 'STARTED', 'SECONDS'],
      resume.history.map((h) => [h.phase, h.startedAt, h.seconds ?? 'running']),
    ),
    '',
    table(
      [
        'TABLE',
        resume.move ? 'CHUNKS EXPORTED' : 'CHUNKS DONE',
        resume.move ? 'ROWS EXPORTED' : 'ROWS COPIED',
      ],
      tables.map((t) => [t.table, `${t.done}/${t.chunks}`, t.rows]),
    ),
    ...(resume.move
      ? [
          '',
          resume.phase === 'PostProcessing'
            ? `Exported to ${resume.move.dumpDir}: import it on the target side (ferry import --from), then ferry export --complete here`
            : `Exporting to ${resume.move.dumpDir} (ferry export continues it)`,
        ]
      : []),
    '',
    fence.state === 'open'
      ? 'Source: open for writes'
      : `Source: fenced (${fence.state === 'refuse' ? 'writes refused' : 'writes detected'}) since ${fence.since}`,
    ...(lastCutoverError
      ? [`Last cutover failed at ${lastCutoverError.at}: ${lastCutoverError.message}`]
      : []),
    ...(replayLag
      ? [
          '',
          `Replay lag: ${replayLag.pending} recorded changes pending, oldest ${replayLag.oldestSeconds.toFixed(1)} s old`,
        ]
      : []),
  ];
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

export async function validateCommand(s: Settings, log: Logger, _o: CommandOptions): Promise<number> {
  const ctx: Context = createContext(s, log);
  const resume = await readResume(ctx);
  if (resume?.move) throw new UsageError(movedAway(s.name, resume.move));
  if (resume) Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
  else await extraction(ctx);
  const how = s.validation === 'None' ? 'Checksum' : s.validation;
  const units = await validate({ ...ctx, settings: { ...s, validation: how } }, ctx.catalog!, ctx.plan);
  process.stdout.write(
    `validated ${ctx.catalog!.tables.length} tables (${units} units) by ${how}: target equals source\n`,
  );
  return 0;
}

/** With --from, the import side of a system move (the target only); otherwise the source side (and ferry run's target). */
export async function fallbackCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  const r =
    o.from || s.systemMove === 'Import'
      ? await importFallback(importContext(s, log, o.from ?? s.dumpDir))
      : await fallback(createContext(s, log));
  process.stdout.write(
    r.done ? `fallback of ${s.name} done; dropped: ${r.dropped.join(', ')}\n` : `${r.reason}\n`,
  );
  return 0;
}

/** The transfer Pod's command: copy the given table groups of a migration in PreProcessing or later. */
export async function transferCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  // An Import's transfer Pods run ferry import --group.
  refuseStage(s, 'transfer', 'Export');
  if (o.stage && s.method !== 'Dump')
    throw new UsageError(`--stage: only the Dump method has stages (spec.transfer.method is ${s.method})`);
  // --stage export writes files only: its target may be out of reach (a system move's export).
  const ctx =
    o.stage === 'export'
      ? exportContext(s, log, progressObserver(log))
      : createContext(s, log, progressObserver(log));
  const resume = await readResume(ctx);
  if (!resume)
    throw new UsageError(
      `migration ${s.name} has no plan yet (its shadow schema ${ctx.shadow} does not exist)`,
    );
  if (resume.move && o.stage !== 'export') throw new UsageError(movedAway(s.name, resume.move));
  // Only a system move's export measures the digests its import validates against.
  if (!resume.move) delete ctx.move;
  Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
  // Standard mode copies in the downtime only: from a fenced source, never from a moving one.
  if (s.mode === 'Standard' && (await withSource(ctx.source, 'fence', readFence)).state === 'open')
    throw new UsageError(
      `migration ${s.name}: the downtime has not begun (the source is not fenced); the transfer waits for Execution`,
    );
  const groups = o.groups ?? resume.plan.groups.map((g) => g.id);
  const unknown = groups.filter((g) => !resume.plan.groups.some((x) => x.id === g));
  if (unknown.length)
    throw new UsageError(`--group ${unknown.join(',')}: the plan has groups 1..${resume.plan.groups.length}`);
  const opts = { groups, parallelism: o.groups ? 1 : s.parallelism };
  // A transfer Pod (Standard, the pipe) also builds, analyzes and validates each table it completes;
  // the dump's Pods only export or import, the operator's Execution finishes the tables.
  const done =
    s.method === 'Dump'
      ? await dumpTransfer(ctx, { ...opts, stage: o.stage })
      : s.mode === 'Standard' && o.groups
        ? await loadTables(ctx, { groups, parallelism: 1, defer: true })
        : await transferGroups(ctx, opts);
  log.info({ groups, chunks: done.length, peakRssBytes: peakRss() }, 'transfer done');
  return 0;
}

/** DowntimeOptimized: approve the cutover of a running migration (the CLI's spec.cutover.approved). */
export async function cutoverCommand(s: Settings, log: Logger, _o: CommandOptions): Promise<number> {
  if (s.mode !== 'DowntimeOptimized')
    throw new UsageError(`migration ${s.name} is not DowntimeOptimized: it has no cutover to approve`);
  const ctx = createContext(s, log);
  if (!(await readResume(ctx)))
    throw new UsageError(`migration ${s.name} has not started (no shadow schema ${ctx.shadow})`);
  await writeUptime(ctx, explicitApproval);
  process.stdout.write(
    `cutover of ${s.name} approved: the running migration fences the source's writes and replays the final delta\n`,
  );
  return 0;
}

/** The chunks of a dump exported so far, or none when the directory holds no dump (yet). */
async function exportedSoFar(dir: string, s: Settings): Promise<Map<string, { rows: number }>> {
  if ((await anyManifest(dir)) === undefined) return new Map();
  return exportedChunks(dir, await readManifest(dir, s));
}

/** ferry export: a system move's source side, up to the files; --complete once the import succeeded. */
export async function exportCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  refuseStage(s, 'export', 'Export');
  const ctx = exportContext(s, log, progressObserver(log));
  if (o.complete) {
    const c = await completeExport(ctx, o.from);
    process.stdout.write(
      `Migration ${s.name} Completed: imported into ${c.target} at ${c.importedAt} (${c.rows.toLocaleString('en-US')} rows, ` +
        `validation ${c.validation}); the source's shadow schema and write fence are removed. ` +
        `The dump in ${s.dumpDir} is no longer needed\n`,
    );
    return 0;
  }
  const e = await exportMigration(ctx, o.stopAfter);
  if (!e) {
    process.stdout.write(
      `Export of ${s.name} paused after ${o.stopAfter}; run ferry export again to continue, or fall back\n`,
    );
    return 0;
  }
  const ratio = e.bytes ? (e.rawBytes / e.bytes).toFixed(1) : '-';
  process.stdout.write(
    [
      `Migration ${s.name} exported to ${e.dir}: ${Object.keys(e.manifest.chunks ?? {}).length} chunks, ` +
        `${e.rows.toLocaleString('en-US')} rows, ${formatBytes(e.rawBytes)} of COPY data in ${formatBytes(e.bytes)} of files (${ratio}x)`,
      'The source stays fenced (its shadow schema kept) until the import succeeds. Next:',
      `  1. copy ${e.dir} to the target side (cp -r, rsync, a volume)`,
      '  2. there: ferry import -f <manifest> --from <the copy>   (the manifest may name another target)',
      '  3. here:  ferry export -f <manifest> --complete [--from <dir with the copied-back ferry-import-done.json>]',
      '  or fall back: ferry fallback -f <manifest> (here; removes the dump files too)',
    ].join('\n') + '\n',
  );
  return 0;
}

/** ferry import: a system move's target side, from a copied dump directory; the source is not reached. */
export async function importCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  refuseStage(s, 'import', 'Import');
  // A transfer Pod's is where its volume is mounted (FERRY_DUMP_DIR).
  const from = o.from ?? s.dumpDir;
  if (!from) throw new UsageError('ferry import needs --from DIR: the dump directory ferry export wrote');
  const ctx = importContext(s, log, from, progressObserver(log));
  if (o.groups) {
    const done = await importGroupsOnly(ctx, o.groups);
    log.info({ groups: o.groups, chunks: done.length, peakRssBytes: peakRss() }, 'import of the groups done');
    return 0;
  }
  const report = await importMigration(ctx, o.stopAfter);
  if (!report) {
    process.stdout.write(
      `Import of ${s.name} paused after ${o.stopAfter}; run again to continue, or fall back\n`,
    );
    return 0;
  }
  printReport(s, report, o);
  process.stdout.write(
    `Completion recorded in ${completionPath(from)}: copy it to the source side and run ferry export -f <manifest> --complete there\n`,
  );
  return 0;
}
