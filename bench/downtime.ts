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
import { startWriters, type Writers, type WriterStats } from '../test/support/writers.ts';
import { setUpRoles } from '../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase, sampleEvents } from '../hack/sample/sample.ts';
import { onCpus, pin, placement, unpin, type Placement } from './pin.ts';
import { settleDisk } from './settle.ts';
import { recordingCost, type RecordingCost } from './recording-cost.ts';

/**
 * The source as production runs it: commits are durable. The test servers' defaults (fsync off)
 * make a write several times cheaper than any user's, and the triggers' share of it larger.
 */
const DURABLE = { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' };

/** The application's writers on the migrated tables, and the control load (CONTROL), over one stretch. */
export interface Stretch {
  app: WriterStats;
  control: WriterStats;
}

interface Result {
  bytes: number;
  downtime: number;
  steps: { step: string; seconds: number }[];
  /** The writers without ferry (before it starts, after it ends), during the bulk copy and its proof, and while ferry records and replays. */
  before: Stretch;
  after: Stretch;
  copying: Stretch;
  recording: Stretch;
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

const WINDOW_MS = 20_000;

/**
 * A second load, on an identical copy of the sample that is not migrated, runs alongside the
 * application's from start to end: both see the same disk and CPU at every moment, so the ratio of
 * their latencies moves with recording alone, not with the machine (this one's disk drifts by more
 * than recording costs). Light, so as not to crowd the source.
 */
const CONTROL = 'shop_control';
const CONTROL_RATE = 100;

/** Both loads' latency over the same window, after a moment for them to settle. */
async function window(app: Writers, control: Writers): Promise<Stretch> {
  await sleep(2000);
  app.takeStats();
  control.takeStats();
  await sleep(WINDOW_MS);
  return { app: app.takeStats(), control: control.takeStats() };
}

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
    // With the optional target privilege that takes the foreign keys out of the downtime. The
    // control schema is the same sample, not migrated.
    const roles = await setUpRoles(pair, {
      schemas: ['shop', CONTROL],
      populate: async (c) => {
        await createSampleDatabase(c, 'shop', bytes);
        await createSampleDatabase(c, CONTROL, bytes);
      },
      replicaOnTarget: true,
    });
    // A database in steady state, not one just loaded: hint bits and visibility set, nothing dirty.
    // Else the bulk copy's first reads dirty every page (hint bits) and the next checkpoint writes
    // the whole table back while the writers are measured.
    await query(pair.source, 'VACUUM (FREEZE, ANALYZE)');
    await settleDisk(pair);
    const load = { sessions: 4, rate, events: sampleEvents(bytes) };
    const app = roles.appUrl();
    const control = startWriters(app, {
      ...load,
      sessions: 2,
      rate: CONTROL_RATE,
      schema: CONTROL,
      seed: 99,
    });
    const writers = startWriters(app, load);
    const before = await window(writers, control);
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
    const copying = { app: writers.takeStats(), control: control.takeStats() };
    await caughtUp(pair, rate);
    await settleDisk(pair);
    const recording = await window(writers, control);
    await ferry(['cutover', '-f', file], roles.env, cpus).done;
    await run.done;
    await writers.stop();
    // The source is writable again, without ferry: the same load once more, so that the baseline
    // brackets the recording in time.
    await settleDisk(pair);
    const again = startWriters(app, { ...load, seed: 7 });
    const after = await window(again, control);
    await Promise.all([again.stop(), control.stop()]);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
    return {
      bytes,
      downtime: report.downtimeSeconds ?? NaN,
      steps: report.downtime ?? [],
      before,
      after,
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

/** Transaction-weighted mean latency over several windows. Pure. */
const pooled = (ws: readonly WriterStats[]): number => {
  const n = ws.reduce((a, w) => a + w.transactions, 0);
  return n ? ws.reduce((a, w) => a + w.meanMs * w.transactions, 0) / n : NaN;
};

/**
 * How much slower the application's writes are in a stretch than without ferry (before and after it
 * pooled), as a fraction: against the control load (each latency divided by the control's at the
 * same time), and plain. Pure.
 */
export function slowdown(
  s: Stretch,
  before: Stretch,
  after: Stretch,
): { againstControl: number; plain: number } {
  const app = pooled([before.app, after.app]);
  const control = pooled([before.control, after.control]);
  return {
    againstControl: s.app.meanMs / s.control.meanMs / (app / control) - 1,
    plain: s.app.meanMs / app - 1,
  };
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
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;
    const ms = (w: WriterStats) => `${w.meanMs.toFixed(2)} / ${w.p95Ms.toFixed(2)}`;
    const stretch = (name: string, x: Stretch) => {
      const d = slowdown(x, r.before, r.after);
      return `${name} ${ms(x.app)} (control ${ms(x.control)}): ${pct(d.againstControl)} against the control, ${pct(d.plain)} plain`;
    };
    console.log(
      `    writers, ms mean / p95: without ferry ${ms(r.before.app)} before it and ${ms(r.after.app)} after it ` +
        `(control ${ms(r.before.control)}, ${ms(r.after.control)})`,
    );
    console.log(`      ${stretch('while ferry records and replays', r.recording)} (goal within 10%)`);
    console.log(`      ${stretch('during the bulk copy and its proof', r.copying)}`);
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
