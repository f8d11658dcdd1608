// DowntimeOptimized benchmark: the downtime (fence up to done) at two data sizes under the same write
// load, and how much the change-recording triggers slow the application's writes: its writers before
// and while ferry records and replays, and the triggers alone (recording-cost.ts). Run as users
// deploy: the application writes as its own role, ferry runs as the least-privilege migration role,
// the source commits durably and has a CPU of its own (pin.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../engine/progress.ts';
import type { Report } from '../engine/report.ts';
import { FERRY } from '../test/support/cli.ts';
import { startWriters, type WriterStats } from '../test/support/writers.ts';
import { setUpRoles } from '../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { onCpus, pin, placement, unpin, type Placement } from './pin.ts';
import { recordingCost, type RecordingCost } from './recording-cost.ts';

/**
 * The source as production runs it: commits are durable. The test servers' defaults (fsync off)
 * make a write several times cheaper than any user's, and the triggers' share of it larger.
 */
const DURABLE = { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' };

interface Result {
  bytes: number;
  downtime: number;
  steps: { step: string; seconds: number }[];
  /** The writers without ferry, during the bulk copy and its proof, then while ferry records and replays. */
  before: WriterStats;
  copying: WriterStats;
  recording: WriterStats;
  triggers?: RecordingCost;
}

function ferry(args: string[], env: Record<string, string>, cpus: Placement | undefined) {
  const [command, argv] = onCpus(cpus?.rest, FERRY, args);
  const child = spawn(command, argv, {
    env: { ...process.env, FERRY_LOG_JSON: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((res, rej) =>
    child.on('close', (code) =>
      code === 0 ? res() : rej(new Error(`ferry ${args[0]} exited ${code}: ${err.slice(-3000)}`)),
    ),
  );
  return { done, stderr: () => err };
}

const WINDOW_MS = 10_000;

async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(200);
}

/**
 * Whether ferry's log (JSON lines) shows the uptime settled: waiting for the cutover, with every
 * chunk of the bulk copy proven (its progress line names no unproven chunks). Pure.
 */
export function settled(log: string): boolean {
  const at = log.indexOf('waiting for cutover approval');
  if (at < 0) return false;
  const progress = log
    .slice(at)
    .split('\n')
    .filter((l) => l.includes('"replaying recorded changes"'));
  return progress.length > 0 && !progress.at(-1)!.includes('unprovenChunks');
}

/**
 * Waits until the replay has caught up (as a user would before approving): twice in a row, no more
 * than a second's writes pending in the change log. The bulk copy's backlog can take a while.
 */
async function caughtUp(pair: LocalPair, rate: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (let streak = 0; streak < 2 && Date.now() < deadline; await sleep(500)) {
    const [row] = await query<{ n: string }>(
      pair.source,
      'SELECT count(*)::text AS n FROM ferry_bench_dto.change_log',
    );
    streak = Number(row!.n) <= rate ? streak + 1 : 0;
  }
}

async function one(bytes: number, rate: number, measureTriggers: boolean): Promise<Result> {
  const pair = await startLocalPair({ sourceSettings: DURABLE });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-dto-'));
  const cpus = placement();
  if (cpus) {
    pin(pair.source.pid, cpus.source, { descendants: true });
    pin(pair.target.pid, cpus.rest, { descendants: true });
    pin(process.pid, cpus.source);
  }
  try {
    // With the optional target privilege that takes the foreign keys out of the downtime.
    const roles = await setUpRoles(pair, {
      populate: (c) => createSampleDatabase(c, 'shop', bytes),
      replicaOnTarget: true,
    });
    // A database in steady state, not one just loaded: hint bits and visibility set, nothing dirty.
    // Else the bulk copy's first reads dirty every page (hint bits) and the next checkpoint writes
    // the whole table back while the writers are measured.
    await query(pair.source, 'VACUUM (FREEZE, ANALYZE)');
    await query(pair.source, 'CHECKPOINT');
    const writers = startWriters(roles.appUrl(), { sessions: 4, rate });
    await sleep(2000);
    writers.takeStats();
    await sleep(WINDOW_MS);
    const before = writers.takeStats();
    const file = join(dir, 'dto.yaml');
    writeFileSync(
      file,
      roles.manifest('bench-dto', {
        mode: 'DowntimeOptimized',
        tables: { exclude: ['audit_log'] },
        transfer: { parallelism: 4, splitAbove: '64Mi' },
      }),
    );
    const run = ferry(['run', '-f', file, '--report-out', join(dir, 'report.json')], roles.env, cpus);
    // Uptime: the bulk copy and its proof read the whole source, as any copy must; then ferry only
    // records and replays, for as long as the cutover waits. The goal is on the second.
    await until(() => settled(run.stderr()));
    const copying = writers.takeStats();
    await caughtUp(pair, rate);
    writers.takeStats();
    await sleep(WINDOW_MS);
    const recording = writers.takeStats();
    await ferry(['cutover', '-f', file], roles.env, cpus).done;
    await run.done;
    await writers.stop();
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
    return {
      bytes,
      downtime: report.downtimeSeconds ?? NaN,
      steps: report.downtime ?? [],
      before,
      copying,
      recording,
      ...(measureTriggers && { triggers: await recordingCost(pair.source, roles.appUrl()) }),
    };
  } finally {
    if (cpus) unpin(process.pid);
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const placementNote = (cpus: Placement | undefined) =>
  cpus
    ? `source server and writers on CPU ${cpus.source}, ferry and the target on CPU ${cpus.rest}`
    : 'nothing pinned (one CPU, or no taskset): ferry, the target and the writers share the cores of the source';

export async function benchDowntime(sizes: number[], rate: number): Promise<void> {
  const results: Result[] = [];
  for (const bytes of sizes) {
    console.log(`  ${formatBytes(bytes)} with ${rate} writes/s ...`);
    if (results.length === 0) console.log(`    ${placementNote(placement())}; the source commits durably`);
    const r = await one(bytes, rate, results.length === 0);
    results.push(r);
    console.log(
      `  ${formatBytes(bytes)}: downtime ${r.downtime.toFixed(2)} s (${r.steps.map((s) => `${s.step} ${s.seconds.toFixed(3)}`).join(', ')})`,
    );
    const slower = (w: WriterStats) => `${(100 * (w.meanMs / r.before.meanMs - 1)).toFixed(0)}%`;
    const ms = (w: WriterStats) => `${w.meanMs.toFixed(2)} ms mean / ${w.p95Ms.toFixed(2)} ms p95`;
    console.log(
      `    writers: ${ms(r.before)} without ferry; ${ms(r.recording)} while ferry records and replays ` +
        `(${slower(r.recording)} on the mean; goal within 10%); ${ms(r.copying)} during the bulk copy ` +
        `and its proof (${slower(r.copying)})`,
    );
    const t = r.triggers;
    if (t)
      console.log(
        `    triggers alone (${t.transactions} single-row transactions a round, one session, medians): ` +
          `${t.without.wallUs.toFixed(0)} µs without, ${t.with.wallUs.toFixed(0)} µs with ` +
          `(${(100 * (t.with.wallUs / t.without.wallUs - 1)).toFixed(0)}%); server CPU ` +
          `${t.without.cpuUs.toFixed(0)} -> ${t.with.cpuUs.toFixed(0)} µs a transaction`,
      );
  }
  const [small, large] = results;
  if (small && large)
    console.log(
      `downtime ${formatBytes(small.bytes)}: ${small.downtime.toFixed(2)} s, ${formatBytes(large.bytes)}: ${large.downtime.toFixed(2)} s; ` +
        `ratio large/small ${(large.downtime / small.downtime).toFixed(2)} (target: does not grow; each under 1 s)`,
    );
}
