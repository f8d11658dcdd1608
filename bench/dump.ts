// The Dump method's benchmark (spec.transfer.method: Dump), for `npm run bench` to call as
// `benchDump(bytes, parallelism)`: on the same sample data and servers (PostgreSQL 15 -> 18), the
// export alone, the import alone, both overlapped, ferry's memory pipe, and `pg_dump -Fd -j N` +
// `pg_restore -j N --section=data` (the target's tables made beforehand, so both load rows only);
// then the dump's size on disk and its compression ratio, and the same of pg_dump's directory. Each
// ferry variant runs in this process through the engine, from a migration stopped after
// PreProcessing with the fence raised, so the times are the transfer's alone.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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
import { createSampleDatabase } from '../hack/sample/sample.ts';

/** Chunks small enough that an overlapped import has files to start on while the export goes on. */
const SPLIT_ABOVE = '16Mi';

function sh(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}

/** Bytes of the regular files under `dir`. */
function sizeOf(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((a, e) => a + statSync(join(e.parentPath, e.name)).size, 0);
}

const timed = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};

/** A migration of the shop schema stopped after PreProcessing, its downtime begun: ready to transfer. */
async function prepared(pair: LocalPair, name: string, transfer: Record<string, unknown>): Promise<Context> {
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
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

/** pg_dump -Fd -j N of the shop schema, then pg_restore -j N of its data into tables made beforehand. */
async function pgDumpRestore(
  pair: LocalPair,
  dir: string,
  parallelism: number,
): Promise<{ dump: number; restore: number; diskBytes: number }> {
  const out = join(dir, 'pg_dump');
  rmSync(out, { recursive: true, force: true });
  const conn = (s: LocalPair['source']) => ['-h', s.host, '-p', String(s.port), '-U', s.user, '-d', 'shop'];
  const dump = await timed(() =>
    sh('pg_dump', [...conn(pair.source), '-n', 'shop', '-Fd', '-j', String(parallelism), '-f', out], {
      PGPASSWORD: pair.source.password,
    }),
  );
  await query(pair.target, 'DROP SCHEMA IF EXISTS shop CASCADE');
  const restore = (section: string) =>
    sh(
      'pg_restore',
      [...conn(pair.target), '--no-owner', `--section=${section}`, '-j', String(parallelism), out],
      {
        PGPASSWORD: pair.target.password,
      },
    );
  await restore('pre-data');
  const seconds = await timed(() => restore('data'));
  const diskBytes = sizeOf(out);
  rmSync(out, { recursive: true, force: true });
  return { dump, restore: seconds, diskBytes };
}

/** Runs the Dump benchmark on a fresh server pair with about `bytes` of sample data and prints the results. */
export async function benchDump(bytes: number, parallelism: number): Promise<void> {
  const pair = await startLocalPair();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-dump-'));
  try {
    const c = new pg.Client({ connectionString: pair.source.url('shop') });
    await c.connect();
    await createSampleDatabase(c, 'shop', bytes);
    const { rows } = await c.query<{ b: string }>(
      "SELECT sum(pg_relation_size(format('%I.%I', schemaname, tablename)))::text AS b FROM pg_tables WHERE schemaname = 'shop'",
    );
    await c.end();
    const heap = Number(rows[0]!.b);
    console.log(`source tables: ${formatBytes(heap)} of heap; parallelism ${parallelism}`);
    const staged = await ferryDump(pair, dir, parallelism, false);
    const overlapped = await ferryDump(pair, dir, parallelism, true);
    const pipe = await ferryPipe(pair, parallelism);
    const pgd = await pgDumpRestore(pair, dir, parallelism);
    const s = (x: number | undefined) => `${(x ?? NaN).toFixed(2)} s`;
    console.log(`ferry export (files):               ${s(staged.seconds.export)}`);
    console.log(`ferry import (files):               ${s(staged.seconds.import)}`);
    console.log(`ferry export + import, overlapped:  ${s(overlapped.seconds.both)}`);
    console.log(`ferry memory pipe:                  ${s(pipe)}`);
    console.log(`pg_dump -Fd -j ${parallelism}:                    ${s(pgd.dump)}`);
    console.log(`pg_restore -j ${parallelism} (data section):      ${s(pgd.restore)}`);
    console.log(
      `ferry dump on disk: ${formatBytes(staged.diskBytes)} for ${formatBytes(staged.rawBytes)} of COPY data ` +
        `(${(staged.rawBytes / staged.diskBytes).toFixed(2)}x, ${(staged.diskBytes / heap).toFixed(2)} of the heap; Checks estimates 0.5)`,
    );
    console.log(
      `pg_dump directory on disk: ${formatBytes(pgd.diskBytes)} (${(heap / pgd.diskBytes).toFixed(2)}x of the heap)`,
    );
  } finally {
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
