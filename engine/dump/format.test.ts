import { describe, expect, it } from 'vitest';
import { parseManifest } from '../api/manifest.ts';
import { resolveSettings, type Settings } from '../api/settings.ts';
import type { Chunk } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { problems } from '../../test/support/manifest.ts';
import {
  chunkFileName,
  chunkFiles,
  completionProblem,
  DUMP_FORMAT,
  dumpIdentity,
  dumpSpaceProblem,
  expectedMeasure,
  fileProblem,
  manifestProblem,
  moveProblem,
  sealedProblem,
  validationProblem,
  type ChunkFile,
  type DumpManifest,
} from './format.ts';

const yaml = (spec = '', name = 'move', target = 'dst') => `apiVersion: ferry.dev/v1alpha1
kind: Migration
metadata: { name: ${name} }
spec:
  source: { engine: postgres, host: src, port: 5432, database: app, user: u, password: { env: A }, schema: shop }
  target: { engine: postgres, host: ${target}, port: 5433, database: app, user: u, password: { env: B }, schema: shop }
  transfer: { method: Dump, dumpDir: /dump }
${spec}`;

const settings = (spec = '', name = 'move', target = 'dst'): Settings =>
  resolveSettings(parseManifest(yaml(spec, name, target), 'm.yaml'));

const chunk = (id: string, table: string, range: Chunk['range']): Chunk => ({
  id,
  table,
  range,
  estRows: 10,
  estBytes: 100,
});

const ctid = (lo: number | null, hi: number | null): Chunk['range'] => ({
  kind: 'ctid',
  loPage: lo,
  hiPage: hi,
});
const key = (lo: string | null, hi: string | null): Chunk['range'] => ({
  kind: 'key',
  column: 'id',
  type: 'bigint',
  lo,
  hi,
  portable: true,
});

const plan: Plan = {
  groups: [
    {
      id: 1,
      cost: 1,
      chunks: [chunk('events#1/2', 'events', ctid(null, 5)), chunk('orders#1/2', 'orders', key(null, '5'))],
    },
    {
      id: 2,
      cost: 1,
      chunks: [chunk('events#2/2', 'events', ctid(5, null)), chunk('orders#2/2', 'orders', key('5', null))],
    },
  ],
  chunks: 4,
  estBytes: 400,
  estRows: 40,
};

const file = (c: string, rows: string, checksum: string | null): ChunkFile => ({
  chunk: c,
  file: `chunks/${c}`,
  format: 'binary',
  rows: Number(rows),
  rawBytes: 10,
  bytes: 5,
  sha256: 'ab',
  digest: { rows, checksum },
  exportedAt: '2025-01-01T00:00:00Z',
});

function manifest(s: Settings, more: Partial<DumpManifest> = {}): DumpManifest {
  return {
    ferryDump: DUMP_FORMAT,
    migration: dumpIdentity(s),
    exportId: 'run-1',
    source: 'src:5432/app',
    mode: 'Standard',
    validation: 'Checksum',
    compression: 'zstd',
    createdAt: '2025-01-01T00:00:00Z',
    catalog: { schema: 'shop', tables: [], sequences: [], types: [] } as unknown as DumpManifest['catalog'],
    plan,
    ...more,
  };
}

describe('the manifest', () => {
  it('needs a dump directory with method Dump, and refuses one (or overlap) without it', () => {
    expect(problems(yaml().replace(', dumpDir: /dump', ''))).toEqual([
      'spec.transfer: method Dump needs the directory that receives the files: dumpDir (a path, ferry CLI) or volume (a PersistentVolumeClaim, in a cluster)',
    ]);
    expect(problems(yaml().replace('method: Dump', 'method: Pipe, overlap: false'))).toEqual([
      'spec.transfer.dumpDir: only used with method Dump (got method "Pipe")',
      'spec.transfer.overlap: only used with method Dump (got method "Pipe")',
    ]);
    expect(settings().dumpOverlap).toBe(true);
    expect(settings().dumpDir).toBe('/dump');
  });
});

describe("a dump's identity", () => {
  it('is the same for another target, other for another source, selection, mode or schema mapping', () => {
    const a = dumpIdentity(settings());
    expect(dumpIdentity(settings('', 'move', 'elsewhere'))).toEqual(a);
    expect(dumpIdentity(settings('  tables: { exclude: [audit_log] }\n')).hash).not.toBe(a.hash);
    expect(dumpIdentity(settings('  mode: DowntimeOptimized\n')).hash).not.toBe(a.hash);
    expect(
      dumpIdentity(resolveSettings(parseManifest(yaml().replace('host: src', 'host: src2'), 'm'))).hash,
    ).not.toBe(a.hash);
    const renamed = yaml().replace('schema: shop }\n  transfer', 'schema: shop2 }\n  transfer');
    expect(dumpIdentity(resolveSettings(parseManifest(renamed, 'm'))).hash).not.toBe(a.hash);
  });
});

describe('a dump manifest', () => {
  const s = settings();
  it("is this migration's: accepted", () => {
    expect(manifestProblem('/d/ferry-dump.json', manifest(s), s)).toBeUndefined();
  });

  it('of another ferry dump format: refused naming the file and both versions', () => {
    expect(manifestProblem('/d/ferry-dump.json', { ...manifest(s), ferryDump: 7 }, s)).toBe(
      `/d/ferry-dump.json: written in ferry dump format 7, this ferry reads format ${DUMP_FORMAT}; export and import with the same ferry version`,
    );
    expect(manifestProblem('/d/ferry-dump.json', { hello: 1 }, s)).toBe(
      '/d/ferry-dump.json: not a ferry dump manifest',
    );
  });

  it('of another migration, or of this one with other settings: refused naming it', () => {
    const other = settings('', 'other');
    expect(manifestProblem('/d/ferry-dump.json', manifest(other), s)).toBe(
      "/d/ferry-dump.json: the dump of migration other, not of this manifest's migration move",
    );
    expect(
      manifestProblem('/d/ferry-dump.json', manifest(settings('  mode: DowntimeOptimized\n')), s),
    ).toMatch(/^\/d\/ferry-dump\.json: migration move was exported with other settings/);
  });

  it('is used by an import only once every chunk is exported', () => {
    expect(sealedProblem('/d/ferry-dump.json', manifest(s))).toBe(
      '/d/ferry-dump.json: the export is not complete (0 of 4 chunks exported); finish it on the source side (ferry export) and copy the directory again',
    );
    const all = Object.fromEntries([...chunkFiles(plan).keys()].map((id) => [id, file(id, '1', '1')]));
    expect(
      sealedProblem('/d/ferry-dump.json', manifest(s, { exportedAt: 'now', chunks: all })),
    ).toBeUndefined();
  });

  it('validates an import as far as the export measured', () => {
    expect(validationProblem('/d/m', 'Checksum', 'Count')).toBeUndefined();
    expect(validationProblem('/d/m', 'Count', 'Checksum')).toMatch(/exported with validation Count/);
  });
});

describe('chunk files', () => {
  it('are named by their place in the plan, safely for any filesystem', () => {
    expect(chunkFileName(0, 'sales.order items#1/3')).toBe('chunks/00001-sales.order_items_1_3.copy.zst');
    expect(new Set(chunkFiles(plan).values()).size).toBe(4);
  });

  it('that are missing, truncated or corrupted are named with what is wrong', () => {
    const rec = file('orders#1/2', '12', null);
    expect(fileProblem('/d', rec, { missing: true })).toBe(
      '/d/chunks/orders#1/2: missing (chunk orders#1/2, 12 rows)',
    );
    expect(fileProblem('/d', rec, { missing: false, bytes: 3 })).toBe(
      '/d/chunks/orders#1/2: 3 bytes, the export wrote 5 (truncated; chunk orders#1/2, 12 rows)',
    );
    expect(fileProblem('/d', rec, { missing: false, bytes: 5, sha256: 'cd' })).toBe(
      '/d/chunks/orders#1/2: its sha256 differs from the one recorded at export (corrupted; chunk orders#1/2, 12 rows)',
    );
    expect(fileProblem('/d', rec, { missing: false, bytes: 5, sha256: 'ab' })).toBeUndefined();
  });
});

describe('validation without the source', () => {
  const files = new Map(
    [
      file('events#1/2', '3', '-9223372036854775808'),
      file('events#2/2', '4', '9223372036854775807'),
      file('orders#1/2', '5', '100'),
      file('orders#2/2', '6', null),
    ].map((f) => [f.chunk, f]),
  );
  it("sums a whole table's chunks exactly, as integers", () => {
    expect(expectedMeasure(plan, files, { table: 'events', range: null })).toEqual({
      rows: '7',
      checksum: '-1',
    });
  });
  it('takes a key range from its own chunk; a digest without checksum gives none', () => {
    expect(expectedMeasure(plan, files, { table: 'orders', range: key(null, '5') })).toEqual({
      rows: '5',
      checksum: '100',
    });
    expect(expectedMeasure(plan, files, { table: 'orders', range: null })).toEqual({
      rows: '11',
      checksum: null,
    });
  });
});

describe('the export', () => {
  it("is refused where the dump directory's filesystem lacks room, naming both numbers", () => {
    expect(dumpSpaceProblem('/dump', '/', 1e9, 4e9)).toBe(
      'spec.transfer.dumpDir /dump: 1.0 GB free on its filesystem (/), the export needs about 2.0 GB ' +
        '(4.0 GB of table heap x 0.5, zstd); free space there or choose another directory',
    );
    expect(dumpSpaceProblem('/dump', '/', 2e9, 4e9)).toBeUndefined();
  });

  it('of a system move needs the Dump method, and refuses DowntimeOptimized with the reason', () => {
    expect(moveProblem(settings())).toBeUndefined();
    expect(moveProblem(settings('  mode: DowntimeOptimized\n'))).toMatch(
      /^spec\.mode: DowntimeOptimized cannot be moved with ferry export\/import: .*needs both databases/,
    );
    expect(
      moveProblem(
        resolveSettings(parseManifest(yaml().replace('method: Dump, dumpDir: /dump', 'method: Pipe'), 'm')),
      ),
    ).toMatch(/need spec\.transfer\.method: Dump/);
  });
});

describe('a completion record', () => {
  const s = settings();
  const m = manifest(s);
  const record = { ferryDump: DUMP_FORMAT, migration: m.migration, exportId: 'run-1' };
  it('confirms the export it names', () => {
    expect(completionProblem('/d/done.json', record, m)).toBeUndefined();
  });
  it('of another export or migration is refused', () => {
    expect(completionProblem('/d/done.json', { ...record, exportId: 'run-0' }, m)).toMatch(
      /the import of another export of migration move \(export run-0, this one is run-1\)/,
    );
    expect(
      completionProblem('/d/done.json', { ...record, migration: dumpIdentity(settings('', 'x')) }, m),
    ).toMatch(/the dump of migration x/);
    expect(completionProblem('/d/done.json', null, m)).toBe(
      '/d/done.json: not a ferry import completion record',
    );
  });
});
