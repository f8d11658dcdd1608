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
import { readResume, runMigration } from '../run.ts';
import type { Phase } from '../phases/phase.ts';
import { doneChunks } from '../state/progress.ts';
import { schemaExists } from '../state/shadow.ts';
import { validate } from '../validate/compare.ts';
import { transferGroups } from '../transfer/transfer.ts';
import { table } from './render.ts';
import { lag } from '../uptime/replay.ts';
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
  const plan = await withClient(ctx.source, 'plan', (c) => buildPlan(c, catalog, s, prev));
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

export async function runCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  const ctx = createContext(s, log, progressObserver(log), readReport(o.previousReport));
  if (s.fallback) return fallbackCommand(s, log, o);
  const report = await runMigration(ctx, o.stopAfter);
  if (!report) {
    process.stdout.write(
      `Migration ${s.name} paused after ${o.stopAfter}; run again to continue, or fall back\n`,
    );
    return 0;
  }
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
  return 0;
}

export async function statusCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  const ctx = createContext(s, log);
  const resume = await readResume(ctx);
  if (!resume) {
    const msg = `migration ${s.name}: no shadow schema ${ctx.shadow} on the source (not started, or completed and cleaned up)`;
    process.stdout.write(o.json ? JSON.stringify({ migration: s.name, phase: null }) + '\n' : msg + '\n');
    return 0;
  }
  const done = await withClient(ctx.target, 'status', async (c) =>
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
  const replayLag = uptime ? await withClient(ctx.source, 'status', (c) => lag(c, ctx.shadow)) : undefined;
  const fence = await withClient(ctx.source, 'status', (c) => readFence(c, ctx.shadow));
  const lastCutoverError = uptime ? (await readUptime(ctx)).lastCutoverError : undefined;
  if (o.json) {
    const doc = {
      migration: s.name,
      phase: resume.phase,
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
      ['TABLE', 'CHUNKS DONE', 'ROWS COPIED'],
      tables.map((t) => [t.table, `${t.done}/${t.chunks}`, t.rows]),
    ),
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
  if (resume) Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
  else await extraction(ctx);
  const how = s.validation === 'None' ? 'Checksum' : s.validation;
  const units = await validate({ ...ctx, settings: { ...s, validation: how } }, ctx.catalog!, ctx.plan);
  process.stdout.write(
    `validated ${ctx.catalog!.tables.length} tables (${units} units) by ${how}: target equals source\n`,
  );
  return 0;
}

export async function fallbackCommand(s: Settings, log: Logger, _o: CommandOptions): Promise<number> {
  const r = await fallback(createContext(s, log));
  process.stdout.write(
    r.done ? `fallback of ${s.name} done; dropped: ${r.dropped.join(', ')}\n` : `${r.reason}\n`,
  );
  return 0;
}

/** The transfer Pod's command: copy the given table groups of a migration in PreProcessing or later. */
export async function transferCommand(s: Settings, log: Logger, o: CommandOptions): Promise<number> {
  const ctx = createContext(s, log, progressObserver(log));
  const resume = await readResume(ctx);
  if (!resume)
    throw new UsageError(
      `migration ${s.name} has no plan yet (its shadow schema ${ctx.shadow} does not exist)`,
    );
  Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
  // Standard mode copies in the downtime only: from a fenced source, never from a moving one.
  if (
    s.mode === 'Standard' &&
    (await withClient(ctx.source, 'fence', (c) => readFence(c, ctx.shadow))).state === 'open'
  )
    throw new UsageError(
      `migration ${s.name}: the downtime has not begun (the source is not fenced); the transfer waits for Execution`,
    );
  const groups = o.groups ?? resume.plan.groups.map((g) => g.id);
  const unknown = groups.filter((g) => !resume.plan.groups.some((x) => x.id === g));
  if (unknown.length)
    throw new UsageError(`--group ${unknown.join(',')}: the plan has groups 1..${resume.plan.groups.length}`);
  // A transfer Pod (Standard) also builds, analyzes and validates each table it completes.
  const done =
    s.mode === 'Standard' && o.groups
      ? await loadTables(ctx, { groups, parallelism: 1, defer: true })
      : await transferGroups(ctx, { groups, parallelism: o.groups ? 1 : s.parallelism });
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
