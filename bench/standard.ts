// The standard benchmark: the whole migration by ferry and by the tools people use instead, on the
// same two servers, at each size: the jobs interleaved (A B C D, A B C D, ...), the target's database
// dropped and recreated before every run, every result checked against the source, then the
// seconds (median, min-max) and the ratios baseline/ferry per size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { qualified, quoteLiteral } from '../engine/db/ident.ts';
import { formatBytes } from '../engine/progress.ts';
import { query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import type { PostgresServer, PostgresVersion } from '../hack/postgres/server.ts';
import { createBenchDatabase } from '../hack/sample/bench-data.ts';
import { SCHEMA, type Job, type Measurement } from './jobs.ts';
import { acrossSizes, available, rounds } from './rounds.ts';
import { differences, extraCost, ferryLines, secondsTable, type JobRuns } from './stats.ts';
import { settleDisk } from './settle.ts';

export interface StandardOptions {
  sizes: number[];
  runs: number;
  parallelism: number;
  targetVersion: PostgresVersion;
  jobs: readonly Job[];
}

const DB = 'shop';

export async function onServer(s: PostgresServer, sql: string): Promise<void> {
  await query(s, sql, [], 'postgres');
}

export async function recreateDatabase(s: PostgresServer): Promise<void> {
  await onServer(s, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await onServer(s, `CREATE DATABASE ${DB}`);
}

/**
 * What a finished migration must reproduce, one line per fact: each table's exact row count, each
 * index, constraint (with its validation state) and sequence value of the schema.
 */
export async function fingerprint(s: PostgresServer): Promise<string[]> {
  const c = new pg.Client({ connectionString: s.url(DB) });
  await c.connect();
  try {
    const ns = quoteLiteral(SCHEMA);
    const { rows: tables } = await c.query<{ t: string }>(
      `SELECT tablename AS t FROM pg_tables WHERE schemaname = ${ns} ORDER BY 1`,
    );
    const counts = tables.length
      ? await c.query<{ line: string }>(
          tables
            .map(
              ({ t }) =>
                `SELECT ${quoteLiteral(`rows ${t} `)} || count(*) AS line FROM ${qualified(SCHEMA, t)}`,
            )
            .join(' UNION ALL '),
        )
      : { rows: [] };
    const { rows: objects } = await c.query<{ line: string }>(
      `SELECT 'index ' || indexname AS line FROM pg_indexes WHERE schemaname = ${ns}
       UNION ALL
       SELECT 'constraint ' || conname || ' ' || contype::text || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END
         FROM pg_constraint WHERE connamespace = ${ns}::regnamespace AND contype <> 'n'
       UNION ALL
       SELECT 'sequence ' || sequencename || ' ' || coalesce(last_value::text, 'unset')
         FROM pg_sequences WHERE schemaname = ${ns}`,
    );
    return [...counts.rows, ...objects].map((r) => r.line).sort();
  } finally {
    await c.end();
  }
}

export async function generate(pair: LocalPair, bytes: number): Promise<void> {
  await recreateDatabase(pair.source);
  const t0 = performance.now();
  await createBenchDatabase(pair.source.url(DB), SCHEMA, bytes);
  const sizes = await query<{ t: string; b: string; n: string }>(
    pair.source,
    `SELECT c.relname AS t, pg_table_size(c.oid)::text AS b, c.reltuples::bigint::text AS n
       FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r' ORDER BY pg_table_size(c.oid) DESC`,
    [SCHEMA],
  );
  const total = sizes.reduce((a, r) => a + Number(r.b), 0);
  const [idx] = await query<{ b: string }>(
    pair.source,
    `SELECT sum(pg_relation_size(indexrelid))::text AS b FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
      WHERE c.relnamespace = $1::regnamespace`,
    [SCHEMA],
  );
  console.log(
    `  generated in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${formatBytes(total)} of tables ` +
      `(${sizes.map((r) => `${r.t} ${((100 * Number(r.b)) / total).toFixed(0)}%`).join(', ')}), ` +
      `${formatBytes(Number(idx!.b))} of indexes, ${sizes.reduce((a, r) => a + Number(r.n), 0).toLocaleString('en')} rows`,
  );
}

async function runOnce(
  pair: LocalPair,
  job: Job,
  o: StandardOptions,
  run: number,
  root: string,
  expected: string[],
): Promise<Measurement> {
  await recreateDatabase(pair.target);
  await settleDisk(pair);
  const dir = mkdtempSync(join(root, `${job.id}-`));
  try {
    const m = await job.run({ pair, parallelism: o.parallelism, dir, run });
    const differ = differences(expected, await fingerprint(pair.target));
    if (differ.length)
      throw new Error(
        `${job.label(o.parallelism)}: the target differs from the source:\n  ${differ.join('\n  ')}`,
      );
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(o: StandardOptions, results: Map<Job, Measurement[]>): JobRuns[] {
  const runs: JobRuns[] = [...results].map(([job, ms]) => ({
    label: job.label(o.parallelism),
    seconds: ms.map((m) => m.seconds),
    baseline: job.baseline,
  }));
  const byId = (id: string) => [...results].find(([j]) => j.id === id);
  const ferry = byId('ferry');
  const checksum = byId('ferry-checksum');
  console.log(
    secondsTable(
      runs,
      runs.find((r) => r.label === ferry?.[0].label(o.parallelism)),
    ),
  );
  if (ferry && checksum) {
    const cost = extraCost(
      ferry[1].map((m) => m.seconds),
      checksum[1].map((m) => m.seconds),
    );
    console.log(
      `checksum validation's extra cost: ${cost.seconds.toFixed(1)} s, ${(100 * cost.share).toFixed(0)}% of the Checksum run (goal: under 25%)`,
    );
  }
  for (const [job, ms] of [ferry, checksum].filter((x) => x !== undefined))
    console.log(ferryLines(job.label(o.parallelism), ms).join('\n'));
  return runs;
}

export async function benchStandard(o: StandardOptions): Promise<void> {
  const jobs = available(o.jobs, o.parallelism);
  const pair = await startLocalPair({ target: o.targetVersion });
  const root = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  try {
    await acrossSizes(
      o.sizes,
      (size) =>
        `${size}: PostgreSQL ${pair.source.version} -> ${pair.target.version}, parallelism ${o.parallelism}, ${o.runs} runs of each job, interleaved`,
      async (bytes) => {
        await generate(pair, bytes);
        const expected = await fingerprint(pair.source);
        return report(
          o,
          await rounds(jobs, o.runs, (job, run) => runOnce(pair, job, o, run, root, expected)),
        );
      },
      o.jobs.find((j) => j.id === 'ferry')?.label(o.parallelism),
    );
  } finally {
    await pair.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
