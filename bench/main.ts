// `npm run bench [-- --size 1GB] [-- --parallelism N]` (`-- --scenario operator [--migrations N
// --groups M]`: the operator at scale, see operator.ts): ferry's memory pipe against the raw pipe
// people use today (per table `psql -c "COPY ... TO STDOUT" | psql -c "COPY ... FROM STDIN"`),
// between the same two servers (PostgreSQL 15 -> 18), at the same parallelism, in one run. Each
// side runs twice, alternating, and the better time counts, so cache warm-up favours neither.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { extractCatalog } from '../engine/source/postgres/extract.ts';
import { preLoadDdl } from '../engine/catalog/ddl.ts';
import { qualified } from '../engine/db/ident.ts';
import { formatBytes } from '../engine/progress.ts';
import { runPool } from '../engine/util/pool.ts';
import { FERRY } from '../test/support/cli.ts';
import { manifestFor, query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createSampleDatabase } from '../hack/sample/sample.ts';
import { benchDowntime } from './downtime.ts';
import { benchOperator } from './operator.ts';
import { parseQuantity } from '../engine/api/settings.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '200MB' },
    parallelism: { type: 'string', default: '4' },
    scenario: { type: 'string', default: 'all' },
    rate: { type: 'string', default: '500' },
    migrations: { type: 'string', default: '50' },
    groups: { type: 'string', default: '20' },
  },
});
const bytes = parseQuantity(values.size!.replace(/B$/, ''));
const parallelism = Number(values.parallelism);

function sh(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(out + err)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}

async function tables(pair: LocalPair): Promise<string[]> {
  return (
    await query<{ t: string }>(pair.source, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'shop'")
  ).map((r) => r.t);
}

/** Empty copies of the source tables in `schema` on the target, as ferry creates them (no indexes yet). */
async function freshTargetSchema(pair: LocalPair, schema: string): Promise<void> {
  const src = new pg.Client({ connectionString: pair.source.url('shop') });
  const dst = new pg.Client({ connectionString: pair.target.url('shop') });
  await Promise.all([src.connect(), dst.connect()]);
  const catalog = await extractCatalog(src, 'shop');
  await dst.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await dst.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`);
  for (const sql of preLoadDdl(catalog, schema)) await dst.query(sql);
  await Promise.all([src.end(), dst.end()]);
}

async function rawPipe(pair: LocalPair): Promise<number> {
  await freshTargetSchema(pair, 'raw');
  const psql = (s: typeof pair.source, sql: string) =>
    `PGPASSWORD='${s.password}' psql -X -q -v ON_ERROR_STOP=1 -h ${s.host} -p ${s.port} -U ${s.user} -d shop -c "${sql}"`;
  const t0 = performance.now();
  await runPool(
    await tables(pair),
    parallelism,
    async () => undefined,
    async (t) => {
      await sh(
        'bash',
        [
          '-o',
          'pipefail',
          '-c',
          `${psql(pair.source, `COPY shop.${t} TO STDOUT`)} | ${psql(pair.target, `COPY raw.${t} FROM STDIN`)}`,
        ],
        {},
      );
    },
    async () => {},
  );
  return (performance.now() - t0) / 1000;
}

async function ferryPipe(
  pair: LocalPair,
  dir: string,
  run: number,
): Promise<{ seconds: number; peakRss: number }> {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  const file = join(dir, `bench-${run}.yaml`);
  writeFileSync(
    file,
    manifestFor(pair, `bench-${run}`, { transfer: { parallelism, splitAbove: '64Mi' }, validation: 'None' }),
  );
  await sh(FERRY, ['run', '-f', file, '--stop-after', 'PreProcessing'], { ...pair.env, FERRY_LOG_JSON: '1' });
  const t0 = performance.now();
  const out = await sh(FERRY, ['transfer', '-f', file], { ...pair.env, FERRY_LOG_JSON: '1' });
  const seconds = (performance.now() - t0) / 1000;
  const peakRss = Number(/"peakRssBytes":(\d+)/.exec(out)?.[1] ?? NaN);
  await sh(FERRY, ['fallback', '-f', file], pair.env);
  return { seconds, peakRss };
}

async function benchStandard(): Promise<void> {
  const pair = await startLocalPair();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  try {
    console.log(
      `generating about ${formatBytes(bytes)} on PostgreSQL ${pair.source.version} (one table holds most of it) ...`,
    );
    const c = new pg.Client({ connectionString: pair.source.url('shop') });
    await c.connect();
    await createSampleDatabase(c, 'shop', bytes);
    const { rows } = await c.query<{ b: string }>(
      "SELECT sum(pg_relation_size(format('%I.%I', schemaname, tablename)))::text AS b FROM pg_tables WHERE schemaname = 'shop'",
    );
    await c.end();
    console.log(
      `source tables: ${formatBytes(Number(rows[0]!.b))} of heap; parallelism ${parallelism}; target PostgreSQL ${pair.target.version}`,
    );
    const raw: number[] = [];
    const ferry: { seconds: number; peakRss: number }[] = [];
    for (let i = 1; i <= 2; i++) {
      raw.push(await rawPipe(pair));
      console.log(`  raw pipe run ${i}: ${raw[raw.length - 1]!.toFixed(2)} s`);
      ferry.push(await ferryPipe(pair, dir, i));
      console.log(`  ferry run ${i}:    ${ferry[ferry.length - 1]!.seconds.toFixed(2)} s`);
    }
    const bestRaw = Math.min(...raw);
    const bestFerry = Math.min(...ferry.map((f) => f.seconds));
    const peak = Math.max(...ferry.map((f) => f.peakRss));
    console.log('');
    console.log(`raw pipe (psql COPY | psql COPY, per table): ${bestRaw.toFixed(2)} s`);
    console.log(`ferry transfer (memory pipe, chunked):       ${bestFerry.toFixed(2)} s`);
    console.log(`ratio raw/ferry: ${(bestRaw / bestFerry).toFixed(3)} (target >= 0.95)`);
    console.log(`ferry peak RSS: ${(peak / 2 ** 20).toFixed(0)} MiB (target < 256 MiB)`);
    const q = qualified('raw', 'events');
    const [a, b] = await Promise.all([
      query<{ n: string }>(pair.source, 'SELECT count(*)::text AS n FROM shop.events'),
      query<{ n: string }>(pair.target, `SELECT count(*)::text AS n FROM ${q}`),
    ]);
    if (a[0]!.n !== b[0]!.n) throw new Error(`raw pipe copied ${b[0]!.n} of ${a[0]!.n} events`);
  } finally {
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.scenario === 'all' || values.scenario === 'standard') {
  console.log('== Standard mode: transfer vs the raw pipe ==');
  await benchStandard();
}
if (values.scenario === 'all' || values.scenario === 'downtime') {
  console.log('\n== DowntimeOptimized: downtime at two data sizes under the same write load ==');
  await benchDowntime([bytes / 4, bytes], Number(values.rate));
}
// Not in `all`: it needs the local control plane (built the first time).
if (values.scenario === 'operator') {
  console.log(`\n== Operator at scale: ${values.migrations} Migrations of ${values.groups} table groups ==`);
  await benchOperator(Number(values.migrations), Number(values.groups));
}
