// The Dump method's benchmark (spec.transfer.method: Dump), for `npm run bench` to call as
// `benchDump(bytes, parallelism)`: on the standard scenario's generated database (hack/sample/
// bench-data.ts), PostgreSQL 15 -> 18, the export alone, the import alone, both overlapped, ferry's
// memory pipe, and `pg_dump -Fd -j N` + `pg_restore -j N --section=data` (the target's tables made
// beforehand with --section=pre-data, so both load rows only); then the dump's size on disk and its
// compression ratio, and pg_dump's. Each ferry variant runs in this process through the engine, from
// a migration stopped after PreProcessing with its fence raised, so the times are the transfer's alone.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifest } from '../engine/api/manifest.ts';
import { resolveSettings } from '../engine/api/settings.ts';
import { exportedChunks, readManifest } from '../engine/dump/directory.ts';
import { fallback } from '../engine/fallback.ts';
import { silentLogger } from '../engine/log.ts';
import { createContext, type Context } from '../engine/phases/context.ts';
import { beginDowntime } from '../engine/phases/execution.ts';
import { formatBytes } from '../engine/progress.ts';
import { runMigration } from '../engine/run.ts';
import { dumpTransfer, type DumpStage } from '../engine/transfer/dump.ts';
import { transferGroups } from '../engine/transfer/transfer.ts';
import { manifestFor, query, startLocalPair, type LocalPair } from '../hack/local-pair.ts';
import { createBenchDatabase } from '../hack/sample/bench-data.ts';
import { childEnv, conninfo, exec, writePgpass } from './tools.ts';

const SCHEMA = 'shop';
/** Chunks small enough that an overlapped import has files to start on while the export goes on. */
const SPLIT_ABOVE = '16Mi';

/** Bytes of the regular files under `dir`. */
function sizeOf(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((a, e) => a + statSync(join(e.parentPath, e.name)).size, 0);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
}

/** A migration of the schema stopped after PreProcessing, its downtime begun: ready to transfer. */
async function prepared(pair: LocalPair, name: string, transfer: Record<string, unknown>): Promise<Context> {
  await query(pair.target, `DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const s = resolveSettings(
    parseManifest(manifestFor(pair, name, { transfer, validation: 'None' }), `${name}.yaml`),
  );
  const ctx = createContext(s, silentLogger, {}, undefined, {
    source: pair.source.password,
    target: pair.target.password,
  });
  await runMigration(ctx, 'PreProcessing');
  await beginDowntime(ctx);
  return ctx;
}

interface DumpRun {
  seconds: Partial<Record<DumpStage, number>>;
  rawBytes: number;
  diskBytes: number;
}

async function ferryDump(
  pair: LocalPair,
  dir: string,
  parallelism: number,
  overlapped: boolean,
): Promise<DumpRun> {
  const dumpDir = join(dir, overlapped ? 'overlapped' : 'staged');
  const ctx = await prepared(pair, overlapped ? 'bench-overlap' : 'bench-dump', {
    method: 'Dump',
    dumpDir,
    parallelism,
    splitAbove: SPLIT_ABOVE,
  });
  const seconds: DumpRun['seconds'] = {};
  if (overlapped) seconds.both = await timed(() => dumpTransfer(ctx, { stage: 'both' }));
  else {
    seconds.export = await timed(() => dumpTransfer(ctx, { stage: 'export' }));
    seconds.import = await timed(() => dumpTransfer(ctx, { stage: 'import' }));
  }
  const files = await exportedChunks(dumpDir, await readManifest(dumpDir, ctx.settings));
  const rawBytes = [...files.values()].reduce((a, f) => a + f.rawBytes, 0);
  const diskBytes = sizeOf(join(dumpDir, 'chunks'));
  await fallback(ctx);
  return { seconds, rawBytes, diskBytes };
}

async function ferryPipe(pair: LocalPair, parallelism: number): Promise<number> {
  const ctx = await prepared(pair, 'bench-pipe', { parallelism, splitAbove: SPLIT_ABOVE });
  const seconds = await timed(() => transferGroups(ctx));
  await fallback(ctx);
  return seconds;
}

/** pg_dump -Fd -j N of the schema, then pg_restore -j N of its data into tables made beforehand. */
async function pgDumpRestore(
  pair: LocalPair,
  dir: string,
  parallelism: number,
): Promise<{ dump: number; restore: number; diskBytes: number }> {
  const out = join(dir, 'pg_dump');
  const env = childEnv({ PGPASSFILE: writePgpass(dir, [pair.source, pair.target]) });
  const jobs = ['-j', String(parallelism)];
  const dump = await timed(() =>
    exec('pg_dump', ['-Fd', ...jobs, '-n', SCHEMA, '-f', out, '-d', conninfo(pair.source, 'shop')], env),
  );
  await query(pair.target, `DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const restore = (section: string) =>
    exec(
      'pg_restore',
      [
        '--no-owner',
        '--exit-on-error',
        `--section=${section}`,
        ...jobs,
        '-d',
        conninfo(pair.target, 'shop'),
        out,
      ],
      env,
    );
  await restore('pre-data');
  const seconds = await timed(() => restore('data'));
  const diskBytes = sizeOf(out);
  rmSync(out, { recursive: true, force: true });
  return { dump, restore: seconds, diskBytes };
}

/** Runs the Dump benchmark on a fresh server pair with about `bytes` of generated data and prints the results. */
export async function benchDump(bytes: number, parallelism: number): Promise<void> {
  const pair = await startLocalPair();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-dump-'));
  try {
    await createBenchDatabase(pair.source.url('shop'), SCHEMA, bytes);
    const [sum] = await query<{ b: string }>(
      pair.source,
      `SELECT sum(pg_relation_size(c.oid))::text AS b FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'`,
      [SCHEMA],
    );
    const heap = Number(sum!.b);
    console.log(
      `source tables: ${formatBytes(heap)} of heap, PostgreSQL ${pair.source.version} -> ${pair.target.version}, parallelism ${parallelism}`,
    );
    const staged = await ferryDump(pair, dir, parallelism, false);
    const overlapped = await ferryDump(pair, dir, parallelism, true);
    const pipe = await ferryPipe(pair, parallelism);
    const pgd = await pgDumpRestore(pair, dir, parallelism);
    const rows: [string, number | undefined][] = [
      ['ferry export (files)', staged.seconds.export],
      ['ferry import (files)', staged.seconds.import],
      ['ferry export + import, overlapped', overlapped.seconds.both],
      ['ferry memory pipe', pipe],
      [`pg_dump -Fd -j ${parallelism}`, pgd.dump],
      [`pg_restore -j ${parallelism} --section=data`, pgd.restore],
    ];
    for (const [what, seconds] of rows) console.log(`${what.padEnd(36)} ${(seconds ?? NaN).toFixed(2)} s`);
    console.log(
      `ferry dump on disk: ${formatBytes(staged.diskBytes)} for ${formatBytes(staged.rawBytes)} of COPY data ` +
        `(${(staged.rawBytes / staged.diskBytes).toFixed(2)}x; ${(staged.diskBytes / heap).toFixed(2)} of the heap, Checks estimates 0.5)`,
    );
    console.log(
      `pg_dump directory on disk: ${formatBytes(pgd.diskBytes)} (${(pgd.diskBytes / heap).toFixed(2)} of the heap)`,
    );
  } finally {
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
