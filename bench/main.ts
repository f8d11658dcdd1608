// `npm run bench [-- options]`: ferry's whole migration against the tools people use instead, the
// DowntimeOptimized downtime, or the operator at scale. `npm run bench -- --help` lists the options.
import { parseArgs } from 'node:util';
import { parseQuantity } from '../engine/api/settings.ts';
import { benchDowntime } from './downtime.ts';
import { JOBS } from './jobs.ts';
import { benchOperator } from './operator.ts';
import { benchStandard } from './standard.ts';

const HELP = `usage: npm run bench -- [options]

Scenarios (--scenario):
  standard   the whole migration of a generated database (one table of about 60% of the bytes and
             seven smaller ones: text, json, jsonb, numeric, bytea; keys, indexes, foreign keys) from
             PostgreSQL 15 to a fresh database on the target, timed for each job:
               ferry      ferry run, validation Count
               ferry-checksum  ferry run, validation Checksum (its extra cost is printed on its own)
               raw        the raw pipe: pg_dump --schema-only, pg_restore --section=pre-data, each table
                          whole through psql COPY ... (FORMAT binary) | psql COPY, --parallelism tables
                          at a time, sequence values, pg_restore --section=post-data -j N
               pgcopydb   pgcopydb clone, N table jobs, N index jobs
               pgdump     pg_dump -Fd -j N, then pg_restore -j N
             A job whose tool is not on PATH is skipped, with a line saying so. Runs are interleaved
             (every job once, then again), the target's database is dropped and recreated before each,
             and every result is checked against the source (row counts, indexes, constraints,
             sequences). Prints seconds (median, min-max) and baseline/ferry ratios (above 1: ferry
             is faster) per size, ferry's phases and its peak RSS (GNU time).
  downtime   DowntimeOptimized under a write load at each size: the downtime and its steps, the
             writers' latency without and with the recording triggers (PostgreSQL 15 -> 18).
  all        standard, then downtime (the default).
  operator   the operator at scale on the local control plane (not in all).

Options:
  --sizes LIST           comma-separated data sizes (kB, MB, GB; or Ki, Mi, Gi)   [256MB,1GB]
                         (the issue's figures: --sizes 1GB,4GB)
  --runs N               runs of each job at each size; medians over them      [3]
  --parallelism N        ferry's spec.transfer.parallelism, and N for every baseline   [2]
  --target-version V     the target server's PostgreSQL major version, 15 or 18   [15]
  --jobs LIST            the standard jobs to run, comma-separated   [${JOBS.map((j) => j.id).join(',')}]
  --scenario NAME        standard, downtime, all or operator   [all]
  --rate N               downtime: the writers' transactions per second   [500]
  --migrations N         operator: how many Migrations   [50]
  --groups N             operator: table groups per Migration   [20]
  -h, --help

A quick look: npm run bench -- --sizes 64MB --runs 1`;

function fail(message: string): never {
  console.error(`bench: ${message}\n(npm run bench -- --help lists the options)`);
  process.exit(2);
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
}

function size(v: string): number {
  try {
    return parseQuantity(v.trim().replace(/B$/, ''));
  } catch {
    return fail(`--sizes: ${JSON.stringify(v)} is not a size (64MB, 1GB, 512Mi...)`);
  }
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      sizes: { type: 'string', default: '256MB,1GB' },
      runs: { type: 'string', default: '3' },
      parallelism: { type: 'string', default: '2' },
      'target-version': { type: 'string', default: '15' },
      jobs: { type: 'string', default: JOBS.map((j) => j.id).join(',') },
      scenario: { type: 'string', default: 'all' },
      rate: { type: 'string', default: '500' },
      migrations: { type: 'string', default: '50' },
      groups: { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (e) {
  fail((e as Error).message);
}
const { values } = parsed;
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const scenario = values.scenario!;
if (!['standard', 'downtime', 'all', 'operator'].includes(scenario))
  fail(`--scenario must be standard, downtime, all or operator (got ${JSON.stringify(scenario)})`);
const sizes = values.sizes!.split(',').map(size);
const targetVersion = values['target-version'];
if (targetVersion !== '15' && targetVersion !== '18')
  fail(`--target-version must be 15 or 18 (got ${JSON.stringify(targetVersion)})`);
const [runs, parallelism, rate, migrations, groups] = (
  ['runs', 'parallelism', 'rate', 'migrations', 'groups'] as const
).map((k) => positive(k, values[k]!)) as [number, number, number, number, number];
const jobs = values.jobs!.split(',').map((id) => {
  const job = JOBS.find((j) => j.id === id.trim());
  return (
    job ?? fail(`--jobs: unknown job ${JSON.stringify(id)} (one of ${JOBS.map((j) => j.id).join(', ')})`)
  );
});

if (scenario === 'all' || scenario === 'standard') {
  console.log('== The whole migration: ferry against the raw pipe, pgcopydb and pg_dump/pg_restore ==');
  await benchStandard({
    sizes,
    runs,
    parallelism,
    targetVersion: Number(targetVersion) as 15 | 18,
    jobs,
  });
}
if (scenario === 'all' || scenario === 'downtime') {
  console.log('\n== DowntimeOptimized: downtime at each size under the same write load ==');
  await benchDowntime(sizes, rate);
}
// Not in `all`: it needs the local control plane (built the first time).
if (scenario === 'operator') {
  console.log(`\n== Operator at scale: ${migrations} Migrations of ${groups} table groups ==`);
  await benchOperator(migrations, groups);
}
