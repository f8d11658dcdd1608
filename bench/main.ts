// `npm run bench [-- options]`: ferry's whole migration against the tools people use instead, the
// DowntimeOptimized downtime, the migration from MariaDB, or the operator at scale. `npm run bench -- --help` lists the options.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BenchArgsError, parseBenchArgs } from './args.ts';
import { benchDowntime } from './downtime.ts';
import { benchDump } from './dump.ts';
import { JOBS } from './jobs.ts';
import { benchMysql } from './mysql.ts';
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
  dump       the Dump method at each size: export, import, both overlapped, the memory pipe, and
             pg_dump -Fd -j N + pg_restore -j N --section=data; the dump's size and compression ratio.
  mysql      the same database generated on MariaDB 10.11 (MariaDB's types; plain indexes where
             PostgreSQL's are partial or on an expression) and migrated into a fresh database on the
             target, each job timed whole, interleaved, checked (rows, indexes, keys):
               ferry-mysql  ferry run from MariaDB, validation Count
               pgloader     Debian's pgloader, workers 2N, concurrency 1, N index builds (N tables
                            at a time, as ferry's N pipes; its default at N = 2); skipped when missing
               ferry-pg     ferry run from the PostgreSQL copy of the same rows (the standard job)
             Prints seconds, pgloader/ferry (goal: at least 3x), ferry from PostgreSQL over ferry
             from MariaDB (goal: at least 0.7x) and the peak RSS (goal: under 256 MiB).
             Skipped when MariaDB is not installed.
  all        standard, then downtime, then dump, then mysql (the default).
  operator   the operator at scale on the local control plane (not in all).

Options:
  --sizes LIST           comma-separated data sizes (kB, MB, GB; or Ki, Mi, Gi)   [256MB,1GB]
                         (the issue's figures: --sizes 1GB,4GB)
  --runs N               runs of each job at each size; medians over them      [3]
  --parallelism N        ferry's spec.transfer.parallelism, and N for every baseline   [2]
  --target-version V     the target server's PostgreSQL major version, 15 or 18   [15]
  --jobs LIST            the standard jobs to run, comma-separated   [${JOBS.map((j) => j.id).join(',')}]
  --scenario NAME        standard, downtime, dump, mysql, all or operator   [all]
  --source ENGINE        mysql: the mysql scenario; postgres: the standard one
  --rate N               downtime: the writers' transactions per second   [500]
  --migrations N         operator: how many Migrations   [50]
  --groups N             operator: table groups per Migration   [20]
  -h, --help

A quick look: npm run bench -- --sizes 64MB --runs 1`;

let options;
try {
  options = parseBenchArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof BenchArgsError)) throw e;
  console.error(`bench: ${e.message}\n(npm run bench -- --help lists the options)`);
  process.exit(2);
}
if (options === 'help') {
  console.log(HELP);
  process.exit(0);
}
const { scenario, sizes, runs, parallelism, targetVersion, jobs, rate, migrations, groups } = options;

// ferry as users run it: bin/ferry takes the bundle only while it is current (README: Two commands).
execFileSync(process.execPath, [join(import.meta.dirname, '../hack/bundle.mjs')], { stdio: 'inherit' });

if (scenario === 'all' || scenario === 'standard') {
  console.log('== The whole migration: ferry against the raw pipe, pgcopydb and pg_dump/pg_restore ==');
  await benchStandard({
    sizes,
    runs,
    parallelism,
    targetVersion,
    jobs,
  });
}
if (scenario === 'all' || scenario === 'downtime') {
  console.log('\n== DowntimeOptimized: downtime at each size under the same write load ==');
  await benchDowntime(sizes, rate);
}
if (scenario === 'all' || scenario === 'dump') {
  console.log('\n== Dump method: export, import, overlapped, against the pipe and pg_dump/pg_restore ==');
  for (const bytes of sizes) await benchDump(bytes, parallelism);
}
if (scenario === 'all' || scenario === 'mysql') {
  console.log('\n== From MariaDB: ferry against pgloader and against its own PostgreSQL -> PostgreSQL ==');
  await benchMysql({ sizes, runs, parallelism, targetVersion });
}
// Not in `all`: it needs the local control plane (built the first time).
if (scenario === 'operator') {
  console.log(`\n== Operator at scale: ${migrations} Migrations of ${groups} table groups ==`);
  await benchOperator(migrations, groups);
}
