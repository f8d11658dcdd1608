// The MySQL benchmark (issue 12): the same generated database on MariaDB 10.11 and on PostgreSQL 15,
// migrated into a fresh database `shop` on the same target by `ferry run` from MariaDB, by pgloader
// from MariaDB, and by `ferry run` from PostgreSQL (the standard job), interleaved, every result
// checked (the MariaDB jobs against the MariaDB database's shape, ferry pg->pg exactly as in the
// standard scenario), then seconds, the issue's two ratios and the peak RSS per size.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { formatBytes } from '../engine/progress.ts';
import { startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { startMariadb, type MariadbServer } from '../hack/mariadb/server.ts';
import type { PostgresVersion } from '../hack/postgres/server.ts';
import { createMysqlBenchDatabase } from '../hack/sample/bench-data-mysql.ts';
import { JOBS, SCHEMA, type Job, type Measurement } from './jobs.ts';
import { ferryMysql, pgloader, type MysqlJobContext } from './mysql-jobs.ts';
import { acrossSizes, available, rounds } from './rounds.ts';
import { mariadbShape, shapeLines, targetShape } from './shape.ts';
import { fingerprint, generate, recreateDatabase } from './standard.ts';
import { differences, ferryLines, mysqlGoals, peakRss, secondsTable, type JobRuns } from './stats.ts';
import { settleDisk } from './settle.ts';

export interface MysqlOptions {
  sizes: number[];
  runs: number;
  parallelism: number;
  targetVersion: PostgresVersion;
}

const ferryPg: Job = {
  ...JOBS.find((j) => j.id === 'ferry')!,
  id: 'ferry-pg',
  label: (n) => `ferry run from PostgreSQL 15 (same rows), validation Count, parallelism ${n}`,
  baseline: true,
};

/** Each round's jobs, in order. */
const MYSQL_JOBS: readonly Job<MysqlJobContext>[] = [ferryMysql, pgloader, ferryPg];

async function generateMariadb(my: MariadbServer, bytes: number): Promise<void> {
  const t0 = performance.now();
  await createMysqlBenchDatabase(my.connection(), SCHEMA, bytes);
  const c = await createConnection(my.connection());
  try {
    const [rows] = await c.query<(import('mysql2').RowDataPacket & { t: string; b: string; i: string })[]>(
      `SELECT table_name AS t, data_length AS b, index_length AS i FROM information_schema.tables
        WHERE table_schema = ? ORDER BY data_length DESC`,
      [SCHEMA],
    );
    const total = rows.reduce((a, r) => a + Number(r.b), 0);
    console.log(
      `  MariaDB generated in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${formatBytes(total)} of InnoDB data ` +
        `(${rows.map((r) => `${r.t} ${((100 * Number(r.b)) / total).toFixed(0)}%`).join(', ')}), ` +
        `${formatBytes(rows.reduce((a, r) => a + Number(r.i), 0))} of secondary indexes`,
    );
  } finally {
    await c.end();
  }
}

async function targetLines(pair: LocalPair): Promise<string[]> {
  const c = new pg.Client({ connectionString: pair.target.url(SCHEMA) });
  await c.connect();
  try {
    return shapeLines(await targetShape(c, SCHEMA));
  } finally {
    await c.end();
  }
}

async function runOnce(
  ctx: Omit<MysqlJobContext, 'dir'>,
  job: Job<MysqlJobContext>,
  root: string,
  expected: Record<'mariadb' | 'postgres', string[]>,
): Promise<Measurement> {
  await recreateDatabase(ctx.pair.target);
  await settleDisk(ctx.pair);
  const dir = mkdtempSync(join(root, `${job.id}-`));
  try {
    const m = await job.run({ ...ctx, dir });
    // ferry pg->pg is checked as in the standard scenario; the others against MariaDB's shape.
    const from = job === ferryPg ? 'postgres' : 'mariadb';
    const got = from === 'mariadb' ? await targetLines(ctx.pair) : await fingerprint(ctx.pair.target);
    const differ = differences(expected[from], got);
    if (differ.length)
      throw new Error(
        `${job.label(ctx.parallelism)}: the target differs from the source:\n  ${differ.join('\n  ')}`,
      );
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(o: MysqlOptions, results: Map<Job<MysqlJobContext>, Measurement[]>): JobRuns[] {
  const runs: JobRuns[] = [...results].map(([job, ms]) => ({
    label: job.label(o.parallelism),
    seconds: ms.map((m) => m.seconds),
    baseline: job.baseline,
  }));
  const seconds = (job: Job<MysqlJobContext>) => results.get(job)?.map((m) => m.seconds);
  console.log(
    secondsTable(
      runs,
      runs.find((r) => r.label === ferryMysql.label(o.parallelism)),
    ),
  );
  console.log(mysqlGoals(seconds(ferryMysql) ?? [], seconds(pgloader), seconds(ferryPg)).join('\n'));
  for (const job of [ferryMysql, ferryPg])
    if (results.has(job)) console.log(ferryLines(job.label(o.parallelism), results.get(job)!).join('\n'));
  const rss = peakRss(results.get(pgloader) ?? []);
  if (rss)
    console.log(`pgloader's peak RSS: median ${rss.median.toFixed(0)} MiB, max ${rss.max.toFixed(0)} MiB`);
  return runs;
}

export async function benchMysql(o: MysqlOptions): Promise<void> {
  if (!existsSync('/usr/sbin/mariadbd')) {
    console.log('skipped: the MySQL scenario (MariaDB, /usr/sbin/mariadbd, is not installed)');
    return;
  }
  const jobs = available(MYSQL_JOBS, o.parallelism);
  const [pair, my] = await Promise.all([startLocalPair({ target: o.targetVersion }), startMariadb()]);
  const root = mkdtempSync(join(tmpdir(), 'ferry-bench-mysql-'));
  try {
    await acrossSizes(
      o.sizes,
      (size) =>
        `${size}: MariaDB ${my.version} and PostgreSQL ${pair.source.version} -> ${pair.target.version}, ` +
        `parallelism ${o.parallelism}, ${o.runs} runs of each job, interleaved`,
      async (bytes) => {
        await Promise.all([generate(pair, bytes), generateMariadb(my, bytes)]);
        const c = await createConnection(my.connection());
        const expected = {
          mariadb: shapeLines(await mariadbShape(c, SCHEMA).finally(() => c.end())),
          postgres: await fingerprint(pair.source),
        };
        const ctx = { pair, my, parallelism: o.parallelism };
        return report(
          o,
          await rounds(jobs, o.runs, (job, run) => runOnce({ ...ctx, run }, job, root, expected)),
        );
      },
      ferryMysql.label(o.parallelism),
    );
  } finally {
    await Promise.all([pair.stop(), my.stop()]);
    rmSync(root, { recursive: true, force: true });
  }
}
