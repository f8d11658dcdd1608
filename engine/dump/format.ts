// The filesystem dump's format and the decisions about it, pure: what the dump manifest
// (ferry-dump.json) and each chunk's record hold, which migration a dump belongs to, whether a
// directory, a file or a completion record may be used, how much disk the export needs and what the
// import must find when it validates. The directory itself is read and written by directory.ts.
import { createHash } from 'node:crypto';
import type { Mode, Validation } from '../api/migration.ts';
import type { Settings } from '../api/settings.ts';
import type { Catalog } from '../catalog/types.ts';
import { allChunks, type Plan } from '../plan/plan.ts';
import { formatBytes } from '../progress.ts';
import type { Measure, Unit } from '../validate/compare.ts';

/** Bumped when a dump written by one ferry cannot be read by another. */
export const DUMP_FORMAT = 1;
export const MANIFEST_FILE = 'ferry-dump.json';
export const CHUNK_DIR = 'chunks';
/** Written by a successful import into its copy of the directory; `ferry export --complete` reads it. */
export const COMPLETION_FILE = 'ferry-import-done.json';
export const COMPRESSION = 'zstd';
/**
 * Compressed dump bytes per heap byte, for the export's disk estimate: COPY data is somewhat smaller
 * than the heap (no tuple headers, no free space), and zstd shrinks typical rows three- to fivefold;
 * kept high so that incompressible data (already compressed, random bytes) is not badly underestimated.
 */
export const DUMP_SIZE_RATIO = 0.5;

/** Which migration a dump belongs to: namespace, name and the settings that make it that migration. */
export interface DumpIdentity {
  namespace: string;
  name: string;
  /** Hash of the source, the schemas and their target names, the table selection and the mode. */
  hash: string;
}

/** One exported chunk: its file and what the import checks it against. */
export interface ChunkFile {
  chunk: string;
  /** Relative to the dump directory. */
  file: string;
  format: 'binary' | 'text';
  rows: number;
  /** The COPY stream's bytes, before compression. */
  rawBytes: number;
  /** The file's size. */
  bytes: number;
  sha256: string;
  /**
   * Count and checksum (spec.validation: Checksum) of the chunk's rows on the source, measured in the
   * transaction that exported them: the import validates the target against it.
   */
  digest: Measure;
  exportedAt: string;
}

export interface DumpManifest {
  ferryDump: number;
  migration: DumpIdentity;
  /** The owner uid of the export's shadow schema: tells two exports of one migration apart. */
  exportId: string;
  /** host:port/database of the source. */
  source: string;
  mode: Mode;
  validation: Validation;
  compression: typeof COMPRESSION;
  createdAt: string;
  catalog: Catalog;
  plan: Plan;
  /** Set once every chunk is exported (the manifest is sealed): then `chunks` lists them all. */
  exportedAt?: string;
  chunks?: Record<string, ChunkFile>;
}

/**
 * What an import keeps of the dump in its bookkeeping on the target (key `dump`), next to the catalog:
 * the plan and each file's record, so that whoever runs its later steps without the directory (the
 * operator: only its transfer Pods mount the volume) validates against the same digests.
 */
export type StoredDump = Omit<DumpManifest, 'catalog'>;

/** What a finished import leaves in its copy of the directory for the export side. */
export interface Completion {
  ferryDump: number;
  migration: DumpIdentity;
  exportId: string;
  /** host:port/database and schemas of the target imported into. */
  target: string;
  importedAt: string;
  chunks: number;
  rows: number;
  validation: Validation;
}

export class DumpError extends Error {
  override name = 'DumpError';
}

export function dumpIdentity(s: Settings): DumpIdentity {
  const shape = JSON.stringify([
    `${s.source.host}:${s.source.port}/${s.source.database}`,
    s.schemas,
    s.include,
    s.exclude,
    s.mode,
    s.uptimeTables,
  ]);
  return {
    namespace: s.namespace ?? '',
    name: s.name,
    hash: createHash('sha256').update(shape).digest('hex').slice(0, 16),
  };
}

const who = (i: DumpIdentity) => (i.namespace ? `${i.namespace}/${i.name}` : i.name);

/** Why a manifest (or completion record) at `path` is not this migration's, or undefined. */
export function identityProblem(
  path: string,
  found: DumpIdentity | undefined,
  mine: DumpIdentity,
): string | undefined {
  if (!found || typeof found.name !== 'string') return `${path}: not a ferry dump manifest (no migration)`;
  if (found.name !== mine.name || (found.namespace ?? '') !== mine.namespace)
    return `${path}: the dump of migration ${who(found)}, not of this manifest's migration ${who(mine)}`;
  if (found.hash !== mine.hash)
    return (
      `${path}: migration ${who(mine)} was exported with other settings (the source, the schemas, ` +
      'the table selection or the mode differ); import with the manifest it was exported with (its target may differ)'
    );
  return undefined;
}

/** Why a parsed ferry-dump.json cannot be used by this migration, or undefined. */
export function manifestProblem(path: string, doc: unknown, s: Settings): string | undefined {
  const m = doc as Partial<DumpManifest> | null;
  if (typeof m !== 'object' || m === null || typeof m.ferryDump !== 'number')
    return `${path}: not a ferry dump manifest`;
  if (m.ferryDump !== DUMP_FORMAT)
    return (
      `${path}: written in ferry dump format ${m.ferryDump}, this ferry reads format ${DUMP_FORMAT}; ` +
      'export and import with the same ferry version'
    );
  const mismatch = identityProblem(path, m.migration, dumpIdentity(s));
  if (mismatch) return mismatch;
  if (m.compression !== COMPRESSION) return `${path}: compression ${String(m.compression)} is not supported`;
  if (!m.catalog || !m.plan || typeof m.exportId !== 'string')
    return `${path}: incomplete (no catalog or plan)`;
  return undefined;
}

const STRENGTH: Record<Validation, number> = { None: 0, Count: 1, Checksum: 2 };

/** An import can validate as far as the export measured: no checksum where none was recorded. */
export function validationProblem(
  path: string,
  recorded: Validation,
  wanted: Validation,
): string | undefined {
  if (STRENGTH[wanted] <= STRENGTH[recorded]) return undefined;
  return (
    `${path}: exported with validation ${recorded}, which records no digest for validation ${wanted}; ` +
    `set spec.validation: ${recorded} (or export again)`
  );
}

/** The export's sealed manifest, or why the import cannot start from it. */
export function sealedProblem(path: string, m: DumpManifest): string | undefined {
  const ids = allChunks(m.plan).map((c) => c.id);
  const have = m.chunks ?? {};
  const missing = ids.filter((id) => !have[id]);
  if (m.exportedAt && !missing.length) return undefined;
  return (
    `${path}: the export is not complete (${ids.length - missing.length} of ${ids.length} chunks exported); ` +
    'finish it on the source side (ferry export) and copy the directory again'
  );
}

/** A chunk's file name: its place in the plan (unique) and its id made safe for any filesystem. */
export function chunkFileName(index: number, chunkId: string): string {
  const safe = chunkId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return `${CHUNK_DIR}/${String(index + 1).padStart(5, '0')}-${safe}.copy.zst`;
}

/** Every chunk of the plan with its file name, in plan order. */
export function chunkFiles(plan: Plan): Map<string, string> {
  return new Map(allChunks(plan).map((c, i) => [c.id, chunkFileName(i, c.id)]));
}

/** What the file on disk is, as verify found it. */
export type FileFacts = { missing: true } | { missing: false; bytes: number; sha256?: string };

/** What is wrong with a chunk's file, or undefined (sha256 only compared when it was computed). */
export function fileProblem(dir: string, rec: ChunkFile, found: FileFacts): string | undefined {
  const path = `${dir}/${rec.file}`;
  const what = `chunk ${rec.chunk}, ${rec.rows} rows`;
  if (found.missing) return `${path}: missing (${what})`;
  if (found.bytes !== rec.bytes)
    return `${path}: ${found.bytes} bytes, the export wrote ${rec.bytes} (${found.bytes < rec.bytes ? 'truncated' : 'changed'}; ${what})`;
  if (found.sha256 !== undefined && found.sha256 !== rec.sha256)
    return `${path}: its sha256 differs from the one recorded at export (corrupted; ${what})`;
  return undefined;
}

/** The disk the export needs, estimated from the heap it reads. */
export const dumpBytesNeeded = (heapBytes: number) => Math.ceil(heapBytes * DUMP_SIZE_RATIO);

/** Why the dump directory's filesystem (`at`, with `free` bytes) cannot take the export, or undefined. */
export function dumpSpaceProblem(
  dir: string,
  at: string,
  free: number,
  heapBytes: number,
): string | undefined {
  const needed = dumpBytesNeeded(heapBytes);
  if (free >= needed) return undefined;
  return (
    `spec.transfer.dumpDir ${dir}: ${formatBytes(free)} free on its filesystem (${at}), the export needs about ` +
    `${formatBytes(needed)} (${formatBytes(heapBytes)} of table heap x ${DUMP_SIZE_RATIO}, ${COMPRESSION}); ` +
    'free space there or choose another directory'
  );
}

/**
 * The measure the target must show for a validation unit: the recorded digests of its chunks
 * summed (a whole table split by ctid is the sum of its chunks; a key range is one chunk). Exact:
 * counts and checksums are added as integers.
 */
export function expectedMeasure(
  plan: Plan,
  files: ReadonlyMap<string, ChunkFile>,
  u: Pick<Unit, 'table' | 'range'>,
): Measure {
  const same = JSON.stringify(u.range);
  const chunks = allChunks(plan).filter(
    (c) => c.table === u.table && (u.range === null || JSON.stringify(c.range) === same),
  );
  let rows = 0n;
  let checksum: bigint | null = 0n;
  for (const c of chunks) {
    const d = files.get(c.id)?.digest;
    if (!d) throw new DumpError(`internal: no exported digest of chunk ${c.id}`);
    rows += BigInt(d.rows);
    checksum = checksum === null || d.checksum === null ? null : checksum + BigInt(d.checksum);
  }
  return { rows: rows.toString(), checksum: checksum === null ? null : checksum.toString() };
}

/** Why a completion record does not confirm this export, or undefined. */
export function completionProblem(path: string, doc: unknown, m: DumpManifest): string | undefined {
  const c = doc as Partial<Completion> | null;
  if (typeof c !== 'object' || c === null || c.ferryDump === undefined)
    return `${path}: not a ferry import completion record`;
  const mismatch = identityProblem(path, c.migration, m.migration);
  if (mismatch) return mismatch;
  if (c.exportId !== m.exportId)
    return `${path}: the import of another export of migration ${who(m.migration)} (export ${c.exportId}, this one is ${m.exportId})`;
  return undefined;
}

/** A system move (ferry export, ferry import) needs a dump, and a mode whose end needs one database only. */
export function moveProblem(s: Settings): string | undefined {
  if (s.method !== 'Dump' || !s.dumpDir)
    return 'ferry export and ferry import need spec.transfer.method: Dump and spec.transfer.dumpDir';
  if (s.mode === 'DowntimeOptimized')
    return (
      'spec.mode: DowntimeOptimized cannot be moved with ferry export/import: after the bulk copy it replays ' +
      "the source's changes onto the target up to the cutover, which needs both databases reachable from one " +
      'ferry. Use mode Standard for a system move, or ferry run with method Dump (its bulk copy goes through files)'
    );
  return undefined;
}
