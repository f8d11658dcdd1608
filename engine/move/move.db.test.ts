// The filesystem dump and the system move on real servers, PostgreSQL 15 -> 18, as the least-privilege
// roles: ferry export writes the dump directory and stops with the source fenced; the directory,
// copied with `cp -r`, is imported by ferry import onto two different targets without the source
// (its password is not even in the environment); a kill at each point of the files, during export or
// import, resumes exact; broken input is refused naming the file with nothing imported; fallback on
// either side leaves what that side held; and ferry run moves the data through files when the
// manifest says Dump.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpRoles, setUpTargetRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { manifestFor, query, queryOne, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { startPostgres, type PostgresServer } from '../../hack/postgres/server.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { ferry, type CliResult } from '../../test/support/cli.ts';
import { applicationCanWrite, runApproving } from '../../test/support/rehearsal.ts';
import { startWriters } from '../../test/support/writers.ts';
import { schemaDigests, schemaRelations, snapshotDatabase } from '../../test/support/snapshot.ts';
import { exportChunk, importChunk } from '../transfer/dump-file.ts';
import type { ChunkCopy } from '../transfer/pipe.ts';
import { chunkCopy } from '../transfer/table-copy.ts';
import { parseManifest } from '../api/manifest.ts';
import { resolveSettings } from '../api/settings.ts';
import { silentLogger } from '../log.ts';
import { dialectOf } from '../source/dialects.ts';
import { DumpError } from '../dump/format.ts';
import { dumpFaultPointsOf, type FaultPoint } from '../faults.ts';

let pair: LocalPair;
let roles: Roles;
/** A second target server, with the same roles as the pair's. */
let second: PostgresServer;
const work = mkdtempSync(join(tmpdir(), 'ferry-move-'));

beforeAll(async () => {
  [pair, second] = await Promise.all([startLocalPair(), startPostgres({ version: 18 })]);
  roles = await setUpRoles(pair, { populate: (c) => createSampleDatabase(c, 'shop', 2e6) });
  await query(second, 'CREATE DATABASE shop', [], 'postgres');
  await setUpTargetRoles(roles, second);
});
afterAll(async () => {
  await Promise.all([pair?.stop(), second?.stop()]);
});

let n = 0;
/** A manifest for the migrator onto `target` (the pair's by default), with chunks small enough that every group has several. */
function manifest(
  name: string,
  dumpDir: string,
  target: PostgresServer = pair.target,
  spec: Record<string, unknown> = {},
): string {
  const file = join(work, `${name}-${++n}.yaml`);
  const transfer = { method: 'Dump', dumpDir, parallelism: 2, splitAbove: '256Ki', chunkRows: 2000 };
  writeFileSync(
    file,
    manifestFor({ ...pair, target }, name, { transfer, ...spec }, { users: roles.migrator }),
  );
  return file;
}

/** The import side's environment: the target's passwords only, none of the source's. */
const targetOnly = () => Object.fromEntries(Object.entries(roles.env).filter(([k]) => !/SOURCE/.test(k)));

const FERRY_SCHEMAS =
  "SELECT nspname AS x FROM pg_namespace WHERE nspname LIKE 'ferry\\_%' OR nspname = 'shop' ORDER BY 1";
const schemasOn = async (s: PostgresServer) => (await query<{ x: string }>(s, FERRY_SCHEMAS)).map((r) => r.x);

async function resetTargets(): Promise<void> {
  for (const s of [pair.target, second])
    for (const x of await schemasOn(s)) await query(s, `DROP SCHEMA "${x}" CASCADE`);
}

const cp = (from: string, to: string) => execFileSync('cp', ['-r', from, to]);
const chunkFiles = (dir: string) => readdirSync(join(dir, 'chunks')).filter((f) => f.endsWith('.copy.zst'));

function ok(r: CliResult): CliResult {
  expect(r.code, r.stderr).toBe(0);
  for (const secret of roles.secrets()) expect(r.stdout + r.stderr).not.toContain(secret);
  return r;
}

/** One error line, naming what is wrong; nothing else failed along. */
function refused(r: CliResult, what: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.match(/ferry: error:/g)).toHaveLength(1);
  expect(r.stderr).toMatch(what);
}

async function expectExact(target: PostgresServer): Promise<void> {
  const [src, dst] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(target.url('shop'), 'shop'),
  ]);
  expect(Object.keys(src).length).toBeGreaterThan(3);
  expect(dst).toEqual(src);
}

const sourceSnapshot = () => snapshotDatabase(pair.source.url('shop'));

describe('system move: ferry export here, ferry import there', () => {
  it('imports one exported directory, copied with cp -r, onto two targets exactly; then completes the source', async () => {
    await resetTargets();
    const before = await sourceSnapshot();
    const dump = join(work, 'two');
    const exp = manifest('move', dump);
    const e = ok(await ferry(['export', '-f', exp], roles.env));
    expect(e.stdout).toMatch(/Migration move exported to .*: \d+ chunks, [\d,]+ rows/);
    // The source waits fenced, its shadow schema kept; no target was touched.
    expect(await applicationCanWrite(roles)).toBe(false);
    expect(await query(pair.source, "SELECT 1 FROM pg_namespace WHERE nspname = 'ferry_move'")).toHaveLength(
      1,
    );
    expect(await schemasOn(pair.target)).toEqual([]);
    const files = chunkFiles(dump);
    expect(files.length).toBeGreaterThan(4);
    const m = JSON.parse(readFileSync(join(dump, 'ferry-dump.json'), 'utf8'));
    expect(Object.keys(m.chunks)).toHaveLength(files.length);
    expect(m.catalog.tables.length).toBeGreaterThan(3);

    const [a, b] = [join(work, 'copy-a'), join(work, 'copy-b')];
    cp(dump, a);
    cp(dump, b);
    for (const [dir, target] of [
      [a, pair.target],
      [b, second],
    ] as const) {
      const r = ok(
        await ferry(['import', '-f', manifest('move', dump, target), '--from', dir], targetOnly()),
      );
      expect(r.stdout).toMatch(/Migration move Completed/);
      expect(r.stderr).toContain("target validated equal to the export's digests");
      await expectExact(target);
      // Only the migrated schema is left on the target; the completion record is in the copy.
      expect(await schemasOn(target)).toEqual(['shop']);
      expect(JSON.parse(readFileSync(join(dir, 'ferry-import-done.json'), 'utf8')).exportId).toBe(m.exportId);
    }
    expect(await schemaRelations(second.url('shop'), 'shop')).toEqual(
      await schemaRelations(pair.target.url('shop'), 'shop'),
    );

    // Without the import's record the source stays as it is; with it, the shadow schema and the fence go.
    refused(
      await ferry(['export', '-f', exp, '--complete'], roles.env),
      /ferry-import-done\.json: no import completion record/,
    );
    copyFileSync(join(a, 'ferry-import-done.json'), join(dump, 'ferry-import-done.json'));
    const done = ok(await ferry(['export', '-f', exp, '--complete'], roles.env));
    expect(done.stdout).toMatch(/Migration move Completed: imported into 127\.0\.0\.1:\d+\/shop shop/);
    expect(await applicationCanWrite(roles)).toBe(true);
    expect(await sourceSnapshot()).toEqual(before);
  });
});

describe('system move killed at each point of its files', () => {
  // Each case kills the export at one of its points and the import of its copy at one of its own.
  const [exporting, importing] = [dumpFaultPointsOf('export'), dumpFaultPointsOf('import')];
  const cases = Array.from({ length: Math.max(exporting.length, importing.length) }, (_, i) => ({
    exportAt: exporting[i],
    importAt: importing[i],
  }));

  /** `ferry <args>` killed at `point` (none: not killed), then run again to success. */
  async function killedThenDone(args: string[], env: Record<string, string>, point?: FaultPoint) {
    if (point) {
      const killed = await ferry(args, { ...env, FERRY_FAULT: point });
      expect(killed.signal, `${point} not reached:\n${killed.stderr}`).toBe('SIGKILL');
    }
    return ok(await ferry(args, env));
  }

  it.each(cases)(
    'ferry export killed at $exportAt, the import of its copy at $importAt: each continues, the target exact',
    async ({ exportAt, importAt }) => {
      await resetTargets();
      const before = await sourceSnapshot();
      const dump = join(work, `killed-${exportAt}`);
      const exp = manifest('move', dump);
      await killedThenDone(['export', '-f', exp], roles.env, exportAt);
      expect(ok(await ferry(['status', '-f', exp], roles.env)).stdout).toMatch(/CHUNKS EXPORTED/);
      const copy = `${dump}-copy`;
      cp(dump, copy);
      await killedThenDone(
        ['import', '-f', manifest('move', dump, second), '--from', copy],
        targetOnly(),
        importAt,
      );
      await expectExact(second);
      expect(await schemasOn(second)).toEqual(['shop']);
      // The import's completion record brought back: the source exactly as before, writable again.
      copyFileSync(join(copy, 'ferry-import-done.json'), join(dump, 'ferry-import-done.json'));
      ok(await ferry(['export', '-f', exp, '--complete'], roles.env));
      expect(await applicationCanWrite(roles)).toBe(true);
      expect(await sourceSnapshot()).toEqual(before);
    },
  );
});

describe('broken input', () => {
  let dump: string;
  let exp: string;
  let before: Awaited<ReturnType<typeof sourceSnapshot>>;
  beforeAll(async () => {
    await resetTargets();
    before = await sourceSnapshot();
    dump = join(work, 'broken');
    exp = manifest('move', dump);
    ok(await ferry(['export', '-f', exp], roles.env));
  });

  /** A fresh copy of the export, damaged by `harm`. */
  function damaged(name: string, harm: (dir: string) => void): string {
    const dir = join(work, `broken-${name}`);
    cp(dump, dir);
    harm(dir);
    return dir;
  }
  const importFrom = (dir: string, name = 'move') =>
    ferry(['import', '-f', manifest(name, dump), '--from', dir], targetOnly());

  it('a corrupted file (same size, one byte changed) is refused naming it; nothing is imported', async () => {
    const file = chunkFiles(dump)[1]!;
    const dir = damaged('corrupt', (d) => {
      const p = join(d, 'chunks', file);
      const bytes = readFileSync(p);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      writeFileSync(p, bytes);
    });
    refused(
      await importFrom(dir),
      new RegExp(`${join(dir, 'chunks', file)}: its sha256 differs .*corrupted.*nothing was imported`),
    );
    expect(await schemasOn(pair.target)).toEqual([]);
  });

  it('a missing or truncated file is refused naming it', async () => {
    const [first, second_] = chunkFiles(dump);
    const missing = damaged('missing', (d) => execFileSync('rm', [join(d, 'chunks', first!)]));
    refused(await importFrom(missing), new RegExp(`${join(missing, 'chunks', first!)}: missing \\(chunk `));
    const truncated = damaged('truncated', (d) => {
      const p = join(d, 'chunks', second_!);
      writeFileSync(p, readFileSync(p).subarray(0, 10));
    });
    refused(
      await importFrom(truncated),
      new RegExp(`${join(truncated, 'chunks', second_!)}: 10 bytes, the export wrote \\d+ \\(truncated`),
    );
    expect(await schemasOn(pair.target)).toEqual([]);
  });

  it('a manifest of another migration, or a directory of another dump format, is refused naming the file', async () => {
    refused(
      await importFrom(dump, 'other'),
      /ferry-dump\.json: the dump of migration move, not of this manifest's migration other/,
    );
    const future = damaged('format', (d) => {
      const p = join(d, 'ferry-dump.json');
      writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), ferryDump: 99 }));
    });
    refused(
      await importFrom(future),
      /ferry-dump\.json: written in ferry dump format 99, this ferry reads format 1/,
    );
    expect(await schemasOn(pair.target)).toEqual([]);
  });

  it('a file corrupted after a partial import: refused naming it, that chunk has nothing on the target; fallback on both sides', async () => {
    const dir = damaged('partial', () => {});
    const imp = manifest('move', dump);
    const cut = await ferry(['import', '-f', imp, '--from', dir], {
      ...targetOnly(),
      FERRY_FAULT: 'dump.chunk-imported:2',
    });
    expect(cut.signal, cut.stderr).toBe('SIGKILL');
    const m = JSON.parse(readFileSync(join(dir, 'ferry-dump.json'), 'utf8')) as {
      chunks: Record<string, { file: string; rows: number; chunk: string }>;
      plan: { groups: { chunks: { id: string; table: string }[] }[] };
    };
    const done = new Set(
      (await query<{ chunk: string }>(pair.target, 'SELECT chunk FROM ferry_move.chunk_done')).map(
        (r) => r.chunk,
      ),
    );
    const victim = Object.values(m.chunks).find((c) => !done.has(c.chunk))!;
    const p = join(dir, victim.file);
    const bytes = readFileSync(p);
    bytes[bytes.length - 5]! ^= 0x01;
    writeFileSync(p, bytes);
    refused(
      await ferry(['import', '-f', imp, '--from', dir], targetOnly()),
      new RegExp(`${p}: its sha256 differs`),
    );
    const table = m.plan.groups.flatMap((g) => g.chunks).find((c) => c.id === victim.chunk)!.table;
    const { rows } = await queryOne<{ rows: string }>(
      pair.target,
      `SELECT count(*)::text AS rows FROM ONLY shop.${table}`,
    );
    const landed = Object.values(m.chunks)
      .filter(
        (c) =>
          done.has(c.chunk) &&
          m.plan.groups.flatMap((g) => g.chunks).find((x) => x.id === c.chunk)!.table === table,
      )
      .reduce((a, c) => a + c.rows, 0);
    expect(Number(rows)).toBe(landed);

    // The import side falls back its own: the target holds nothing of the import, the dump stays.
    const back = ok(await ferry(['fallback', '-f', imp, '--from', dir], targetOnly()));
    expect(back.stdout).toMatch(
      /fallback of move done; dropped: target bookkeeping ferry_move, target schema shop/,
    );
    expect(await schemasOn(pair.target)).toEqual([]);
    expect(existsSync(join(dir, 'ferry-dump.json'))).toBe(true);
    // The source side: the shadow schema, the fence and the dump's files go; the source is as before.
    const src = ok(await ferry(['fallback', '-f', exp], roles.env));
    expect(src.stdout).toMatch(
      /dropped: dump .* \(\d+ files\), source write fence, source shadow schema ferry_move/,
    );
    expect(existsSync(dump)).toBe(false);
    expect(await applicationCanWrite(roles)).toBe(true);
    expect(await sourceSnapshot()).toEqual(before);
  });
});

describe('refusals before anything changes', () => {
  it('DowntimeOptimized cannot be moved, nor a dumpDir made under a file: refused with the reason; ferry run refuses an exported migration', async () => {
    await resetTargets();
    const before = await sourceSnapshot();
    const dto = manifest('dto', join(work, 'dto'), pair.target, { mode: 'DowntimeOptimized' });
    refused(
      await ferry(['export', '-f', dto], roles.env),
      /spec\.mode: DowntimeOptimized cannot be moved with ferry export\/import: .*both databases/,
    );
    expect(await sourceSnapshot()).toEqual(before);
    const file = join(work, 'a-file');
    writeFileSync(file, '');
    refused(
      await ferry(['run', '-f', manifest('move', join(file, 'dump'))], roles.env),
      new RegExp(`spec\\.transfer\\.dumpDir: ${file} is not a directory`),
    );

    const dump = join(work, 'exported');
    const exp = manifest('move', dump);
    const paused = ok(await ferry(['export', '-f', exp, '--stop-after', 'PreProcessing'], roles.env));
    expect(paused.stdout).toMatch(/Export of move paused after PreProcessing/);
    expect(existsSync(dump)).toBe(false);
    ok(await ferry(['export', '-f', exp], roles.env));
    refused(
      await ferry(['run', '-f', exp], roles.env),
      /migration move was exported for a system move .*ferry import/,
    );
    // Falling back right after the export: the source exactly as before, the files gone.
    ok(await ferry(['fallback', '-f', exp], roles.env));
    expect(existsSync(dump)).toBe(false);
    expect(await sourceSnapshot()).toEqual(before);
    expect(await schemasOn(pair.target)).toEqual([]);
  });
});

describe('ferry run with method Dump', () => {
  it.each([true, false])(
    'moves the data through files (overlap %s), exact; the files go at the end',
    async (overlap) => {
      await resetTargets();
      const before = await sourceSnapshot();
      const dump = join(work, `run-${overlap}`);
      const file = manifest('shop', dump, pair.target, {
        transfer: {
          method: 'Dump',
          dumpDir: dump,
          overlap,
          parallelism: 3,
          splitAbove: '256Ki',
          chunkRows: 2000,
        },
      });
      const r = ok(
        await ferry(['run', '-f', file, '--report-out', join(work, `run-${overlap}.json`)], roles.env),
      );
      expect(r.stdout).toMatch(/Migration shop Completed/);
      expect(r.stderr).toMatch(/exported \d+ chunks: .* of COPY data in .* of files \(zstd\)/);
      await expectExact(pair.target);
      expect(existsSync(dump)).toBe(false);
      expect(await sourceSnapshot()).toEqual(before);
    },
  );
});

describe('DowntimeOptimized with method Dump (ferry run)', () => {
  it('copies the bulk through files while the application writes, replays, cuts over: exact', async () => {
    await resetTargets();
    const dump = join(work, 'dto-run');
    const file = manifest('dto', dump, pair.target, {
      mode: 'DowntimeOptimized',
      tables: { exclude: ['audit_log'] },
      uptime: { tables: ['events', 'order*'] },
    });
    const writers = startWriters(roles.appUrl(), { sessions: 2, rate: 100, seed: 7 });
    const rehearsal = { pair, roles, manifest: () => file };
    try {
      const r = ok(await runApproving(rehearsal, file, roles.env).done);
      expect(r.stdout).toMatch(/Migration dto Completed/);
      expect(r.stderr).toMatch(/exported \d+ chunks: .* of files \(zstd\)/);
    } finally {
      // The fence refused them at the cutover: none wrote after the migration completed.
      expect((await writers.stop()).refused).toBeGreaterThan(0);
    }
    const [src, dst] = await Promise.all([
      schemaDigests(pair.source.url('shop'), 'shop'),
      schemaDigests(pair.target.url('shop'), 'shop'),
    ]);
    delete src.audit_log;
    expect(dst).toEqual(src);
    expect(existsSync(dump)).toBe(false);
  });
});

describe('a chunk file read back', () => {
  it('that does not match its record is refused inside the transaction: no row and no done-row land', async () => {
    const dir = mkdtempSync(join(work, 'chunk-'));
    mkdirSync(join(dir, 'chunks'));
    const src = new pg.Client({ connectionString: pair.source.url('shop') });
    const dst = new pg.Client({ connectionString: pair.target.url('shop') });
    await Promise.all([src.connect(), dst.connect()]);
    try {
      // The source's customers table, bare, and a done-row table as ferry's bookkeeping has it.
      const { rows } = await src.query<{ c: string; t: string }>(
        `SELECT attname AS c, format_type(atttypid, atttypmod) AS t FROM pg_attribute
          WHERE attrelid = 'shop.customers'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      );
      await dst.query('DROP SCHEMA IF EXISTS chunk_test CASCADE; CREATE SCHEMA chunk_test');
      await dst.query(`CREATE TABLE chunk_test.customers (${rows.map((r) => `"${r.c}" ${r.t}`).join(', ')})`);
      await dst.query(
        'CREATE TABLE chunk_test.chunk_done (chunk text PRIMARY KEY, rows bigint NOT NULL, bytes bigint NOT NULL, seconds float8 NOT NULL, done_at timestamptz NOT NULL DEFAULT now())',
      );
      // The export reads through the PostgreSQL source dialect, as ferry export does.
      const settings = resolveSettings(parseManifest(manifestFor(pair, 'chunk'), 'test'));
      const source = dialectOf(settings, 'ferry_chunk', silentLogger, pair.source.password);
      const catalog = await source.extract();
      const chunk = { id: 'customers', table: 'customers', range: null, estRows: 0, estBytes: 0 };
      const spec: ChunkCopy = {
        ...chunkCopy(catalog, chunk, settings, 'chunk_test'),
        targetTable: 'chunk_test.customers',
        binary: false,
      };
      spec.read.format = 'text';
      expect(spec.columns).toEqual(rows.map((r) => r.c));
      const session = await source.open('test');
      const rec = await exportChunk(session, dir, spec, { file: 'chunks/c.copy.zst' }).finally(() =>
        session.close(),
      );
      const p = join(dir, rec.file);
      expect(rec.rows).toBeGreaterThan(0);
      expect(statSync(p).size).toBe(rec.bytes);
      // The application's rows: readable by their owner only.
      expect(statSync(p).mode & 0o777).toBe(0o600);
      expect(existsSync(`${p}.tmp`)).toBe(false);
      const good = readFileSync(p);
      const bad = Buffer.from(good);
      bad[bad.length - 3]! ^= 0x40;
      writeFileSync(p, bad);
      const count = async (t: string) =>
        Number(
          (await dst.query<{ n: string }>(`SELECT count(*)::text AS n FROM chunk_test.${t}`)).rows[0]!.n,
        );
      const err = await importChunk(dst, dir, spec, rec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DumpError);
      expect((err as Error).message).toContain(`${p}: `);
      expect([await count('customers'), await count('chunk_done')]).toEqual([0, 0]);
      writeFileSync(p, good);
      const done = await importChunk(dst, dir, spec, rec);
      expect(done.rows).toBe(rec.rows);
      expect([await count('customers'), await count('chunk_done')]).toEqual([rec.rows, 1]);
      await dst.query('DROP SCHEMA chunk_test CASCADE');
    } finally {
      await Promise.all([src.end(), dst.end()]);
    }
  });
});
