// DowntimeOptimized benchmark: the downtime (fence up to done) at two data sizes under the same write
// load, and how much the change-recording triggers slow the application's writes: its writers before
// and while ferry records and replays (the replay shares the machine), and the triggers alone
// (recording-cost.ts). Run as users deploy: the application writes as its own role, ferry runs as
// the least-privilege migration role.
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
import { recordingCost, type RecordingCost } from './recording-cost.ts';

interface Result {
  bytes: number;
  downtime: number;
  steps: { step: string; seconds: number }[];
  before: WriterStats;
  during: WriterStats;
  triggers?: RecordingCost;
}

function ferry(args: string[], env: Record<string, string>) {
  const child = spawn(FERRY, args, {
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
  const pair = await startLocalPair();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-dto-'));
  try {
    // With the optional target privilege that takes the foreign keys out of the downtime.
    const roles = await setUpRoles(pair, {
      populate: (c) => createSampleDatabase(c, 'shop', bytes),
      replicaOnTarget: true,
    });
    const writers = startWriters(roles.appUrl(), { sessions: 4, rate });
    await sleep(3000);
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
    const run = ferry(['run', '-f', file, '--report-out', join(dir, 'report.json')], roles.env);
    // Uptime: bulk copy, then replay; measure the writers while the triggers record their changes.
    for (;;) {
      if (run.stderr().includes('waiting for cutover approval')) break;
      await sleep(200);
    }
    writers.takeStats();
    await sleep(3000);
    const during = writers.takeStats();
    await caughtUp(pair, rate);
    await ferry(['cutover', '-f', file], roles.env).done;
    await run.done;
    await writers.stop();
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
    return {
      bytes,
      downtime: report.downtimeSeconds ?? NaN,
      steps: report.downtime ?? [],
      before,
      during,
      ...(measureTriggers && { triggers: await recordingCost(pair.source, roles.appUrl()) }),
    };
  } finally {
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchDowntime(sizes: number[], rate: number): Promise<void> {
  const results: Result[] = [];
  for (const bytes of sizes) {
    console.log(`  ${formatBytes(bytes)} with ${rate} writes/s ...`);
    const r = await one(bytes, rate, results.length === 0);
    results.push(r);
    console.log(
      `  ${formatBytes(bytes)}: downtime ${r.downtime.toFixed(2)} s (${r.steps.map((s) => `${s.step} ${s.seconds.toFixed(3)}`).join(', ')})`,
    );
    console.log(
      `    writers: ${r.before.meanMs.toFixed(2)} ms mean / ${r.before.p95Ms.toFixed(2)} ms p95 without triggers, ` +
        `${r.during.meanMs.toFixed(2)} / ${r.during.p95Ms.toFixed(2)} ms while recording ` +
        `(${(100 * (r.during.meanMs / r.before.meanMs - 1)).toFixed(0)}% slower on average)`,
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
