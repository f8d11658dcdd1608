// The jobs the standard benchmark times, each a whole migration of schema `shop` from the source's
// database `shop` into the target's (fresh, empty) database `shop`: ferry itself, and what people run
// instead. Each job is a thin adapter over the real tools; a baseline whose tool is missing is skipped.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quoteIdent, quoteLiteral } from '../engine/db/ident.ts';
import { runPool } from '../engine/util/pool.ts';
import type { PhaseRecord } from '../engine/phases/phase.ts';
import type { Report } from '../engine/report.ts';
import { manifestFor, query, type LocalPair } from '../hack/local-pair.ts';
import { FERRY } from '../test/support/cli.ts';
import { childEnv, conninfo, exec, uri, which, writePgpass } from './tools.ts';

export const SCHEMA = 'shop';
const DB = 'shop';

export interface JobContext {
  pair: LocalPair;
  parallelism: number;
  /** An empty directory of this run's own. */
  dir: string;
  /** Distinguishes runs (ferry's migration name). */
  run: number;
}

export interface Measurement {
  seconds: number;
  /** ferry: the largest resident set of its process tree, in bytes. */
  peakRss?: number;
  /** ferry: the run's phases from its report. */
  phases?: PhaseRecord[];
}

export interface Job<C extends JobContext = JobContext> {
  id: string;
  label: (parallelism: number) => string;
  /** The baseline's missing tools, named; empty when it can run. */
  missing: () => string[];
  /** ferry's runs are the reference the baselines are divided by. */
  baseline: boolean;
  run: (ctx: C) => Promise<Measurement>;
}

export const missingOf = (...tools: string[]) => tools.filter((t) => !which(t));

/** Environment for the client tools: PGPASSFILE with both servers' passwords, nothing else PG*. */
const toolEnv = (ctx: JobContext) =>
  childEnv({ PGPASSFILE: writePgpass(ctx.dir, [ctx.pair.source, ctx.pair.target]) });

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
}

/**
 * Runs `cmd` to completion, timed, under GNU time when it is on PATH: it reports the largest
 * resident set among the process and its waited-for children.
 */
export async function timedWithRss(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  dir: string,
): Promise<Pick<Measurement, 'seconds' | 'peakRss'>> {
  const rss = join(dir, 'rss');
  const time = which('time');
  const seconds = await timed(() =>
    time ? exec(time, ['-o', rss, '-f', '%M', cmd, ...args], env) : exec(cmd, args, env),
  );
  return { seconds, ...(time ? { peakRss: Number(readFileSync(rss, 'utf8').trim()) * 1024 } : {}) };
}

/** Runs `ferry run` on the manifest, timed with its peak RSS and the phases of its report. */
export async function runFerry(
  manifest: string,
  env: Record<string, string>,
  dir: string,
): Promise<Measurement> {
  const file = join(dir, 'migration.yaml');
  const report = join(dir, 'report.json');
  writeFileSync(file, manifest);
  const m = await timedWithRss(
    FERRY,
    ['run', '-f', file, '--report-out', report],
    childEnv({ ...env, FERRY_LOG_JSON: '1' }),
    dir,
  );
  return { ...m, phases: (JSON.parse(readFileSync(report, 'utf8')) as Report).phases };
}

function ferryJob(validation: 'Count' | 'Checksum'): Job {
  return {
    id: validation === 'Count' ? 'ferry' : 'ferry-checksum',
    label: (n) => `ferry run, validation ${validation}, parallelism ${n}`,
    missing: () => [],
    baseline: false,
    // ferry's passwords come from the variables the manifest names, set for the child only.
    run: (ctx) =>
      runFerry(
        manifestFor(ctx.pair, `bench-${validation.toLowerCase()}-${ctx.run}`, {
          transfer: { parallelism: ctx.parallelism },
          validation,
        }),
        ctx.pair.env,
        ctx.dir,
      ),
  };
}

/** psql on one side, stopping at the first error; without `-c` it runs what it reads. */
const psql = (conn: string, ...args: string[]) => [
  'psql',
  '-X',
  '-q',
  '-v',
  'ON_ERROR_STOP=1',
  '-d',
  conn,
  ...args,
];

/** `from | to` through a kernel pipe, failing when either side fails. */
function pipe(from: string[], to: string[], env: Record<string, string>): Promise<string> {
  const quoted = (argv: string[], at: number) => argv.map((_, i) => `"\${${at + i}}"`).join(' ');
  const script = `set -o pipefail; ${quoted(from, 1)} | ${quoted(to, from.length + 1)}`;
  return exec('bash', ['-c', script, 'bash', ...from, ...to], env);
}

/** The source's tables of `shop`, largest first (as a careful script would start them). */
async function tablesBySize(pair: LocalPair): Promise<string[]> {
  const rows = await query<{ t: string }>(
    pair.source,
    `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY pg_table_size(c.oid) DESC, c.relname`,
    [SCHEMA],
  );
  return rows.map((r) => r.t);
}

/**
 * The raw binary pipe: the schema dumped once (custom format), pre-data restored, every table piped
 * whole (`parallelism` at a time) through binary COPY, sequence values set, then post-data restored
 * with `parallelism` jobs.
 */
const rawPipe: Job = {
  id: 'raw',
  label: (n) => `raw binary COPY pipe, ${n} tables at a time, + pg_restore --section=post-data -j${n}`,
  missing: () => missingOf('psql', 'pg_dump', 'pg_restore', 'bash'),
  baseline: true,
  run: async (ctx) => {
    const env = toolEnv(ctx);
    const [src, dst] = [conninfo(ctx.pair.source, DB), conninfo(ctx.pair.target, DB)];
    const dump = join(ctx.dir, 'schema.dump');
    const tables = await tablesBySize(ctx.pair);
    const seconds = await timed(async () => {
      await exec('pg_dump', ['-Fc', '--schema-only', '-n', SCHEMA, '-f', dump, '-d', src], env);
      await exec('pg_restore', ['--section=pre-data', '--exit-on-error', '-d', dst, dump], env);
      await runPool(
        tables,
        ctx.parallelism,
        async () => undefined,
        async (t) => {
          const q = `${quoteIdent(SCHEMA)}.${quoteIdent(t)}`;
          await pipe(
            psql(src, '-c', `COPY ${q} TO STDOUT (FORMAT binary)`),
            psql(dst, '-c', `COPY ${q} FROM STDIN (FORMAT binary)`),
            env,
          );
        },
        async () => {},
      );
      // A schema-only dump has no sequence values (they are data): set them as pg_dump would.
      await pipe(
        psql(
          src,
          '-A',
          '-t',
          '-c',
          `SELECT format('SELECT pg_catalog.setval(%L, %s, %L);', format('%I.%I', schemaname, sequencename),
             coalesce(last_value, start_value), last_value IS NOT NULL)
             FROM pg_sequences WHERE schemaname = ${quoteLiteral(SCHEMA)}`,
        ),
        psql(dst),
        env,
      );
      await exec(
        'pg_restore',
        ['--section=post-data', '--exit-on-error', '-j', String(ctx.parallelism), '-d', dst, dump],
        env,
      );
    });
    return { seconds };
  },
};

const pgcopydb: Job = {
  id: 'pgcopydb',
  label: (n) => `pgcopydb clone, ${n} table jobs, ${n} index jobs`,
  missing: () => missingOf('pgcopydb', 'pg_dump', 'pg_restore'),
  baseline: true,
  run: async (ctx) => {
    const env = toolEnv(ctx);
    const jobs = String(ctx.parallelism);
    const args = [
      'clone',
      '--source',
      uri(ctx.pair.source, DB),
      '--target',
      uri(ctx.pair.target, DB),
      '--table-jobs',
      jobs,
      '--index-jobs',
      jobs,
      '--dir',
      join(ctx.dir, 'pgcopydb'),
    ];
    return { seconds: await timed(() => exec('pgcopydb', args, env)) };
  },
};

const pgDumpRestore: Job = {
  id: 'pgdump',
  label: (n) => `pg_dump -Fd -j${n}, then pg_restore -j${n}`,
  missing: () => missingOf('pg_dump', 'pg_restore'),
  baseline: true,
  run: async (ctx) => {
    const env = toolEnv(ctx);
    const dump = join(ctx.dir, 'dump');
    const jobs = String(ctx.parallelism);
    const seconds = await timed(async () => {
      await exec(
        'pg_dump',
        ['-Fd', '-j', jobs, '-n', SCHEMA, '-f', dump, '-d', conninfo(ctx.pair.source, DB)],
        env,
      );
      await exec(
        'pg_restore',
        ['-j', jobs, '--exit-on-error', '-d', conninfo(ctx.pair.target, DB), dump],
        env,
      );
    });
    return { seconds };
  },
};

/** Every job, in the order each round runs them. */
export const JOBS: readonly Job[] = [
  ferryJob('Count'),
  ferryJob('Checksum'),
  rawPipe,
  pgcopydb,
  pgDumpRestore,
];
