// The dump directory on disk: the manifest, each chunk's record next to its file, the import's
// completion record. Every file is written whole or not at all (a temporary name, fsync, rename,
// fsync of the directory), so a process killed at any moment leaves each either complete or absent.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Settings } from '../api/settings.ts';
import { allChunks } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import {
  chunkFiles,
  CHUNK_DIR,
  COMPLETION_FILE,
  DumpError,
  fileProblem,
  manifestProblem,
  MANIFEST_FILE,
  type ChunkFile,
  type Completion,
  type DumpManifest,
} from './format.ts';

/** The dump holds the application's rows: readable by its owner only (as written; a copy keeps what cp gives it). */
export const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Makes `path` hold `text`, atomically and durably. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const h = await open(tmp, 'w', FILE_MODE);
  try {
    await h.writeFile(text);
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** The parsed JSON file, undefined when it does not exist; a damaged one is refused naming it. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new DumpError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DumpError(`${path}: not valid JSON (${text.length} bytes; truncated or edited?)`);
  }
}

export const manifestPath = (dir: string) => join(dir, MANIFEST_FILE);
export const completionPath = (dir: string) => join(dir, COMPLETION_FILE);
const recordPath = (dir: string, file: string) => join(dir, `${file}.json`);

/** The directory's manifest when it is this migration's; refused naming the file and what is wrong. */
export async function readManifest(dir: string, s: Settings): Promise<DumpManifest> {
  const path = manifestPath(dir);
  const doc = await readJson(path);
  if (doc === undefined) throw new DumpError(`${dir}: no ferry dump here (${MANIFEST_FILE} is missing)`);
  const problem = manifestProblem(path, doc, s);
  if (problem) throw new DumpError(problem);
  return doc as DumpManifest;
}

/** Whatever manifest the directory holds (any migration's), undefined when none. */
export const anyManifest = (dir: string) => readJson(manifestPath(dir));

/**
 * The manifest of this export: written when the directory has none, otherwise it must be the same
 * export's (a resumed run), never another migration's or an earlier export's.
 */
export async function ensureManifest(dir: string, s: Settings, fresh: DumpManifest): Promise<DumpManifest> {
  await mkdir(join(dir, CHUNK_DIR), { recursive: true, mode: DIR_MODE });
  if ((await anyManifest(dir)) === undefined) {
    await writeFileAtomic(manifestPath(dir), JSON.stringify(fresh));
    return fresh;
  }
  const m = await readManifest(dir, s);
  if (m.exportId !== fresh.exportId)
    throw new DumpError(
      `${manifestPath(dir)}: an earlier export of migration ${s.name} (export ${m.exportId}, created ${m.createdAt}); ` +
        'remove the directory or choose another spec.transfer.dumpDir',
    );
  return m;
}

export async function readChunkRecord(dir: string, file: string): Promise<ChunkFile | undefined> {
  return (await readJson(recordPath(dir, file))) as ChunkFile | undefined;
}

/** Records an exported chunk; its file is complete and durable before this is called. */
export const writeChunkRecord = (dir: string, rec: ChunkFile) =>
  writeFileAtomic(recordPath(dir, rec.file), JSON.stringify(rec));

/** The chunks exported so far: the sealed manifest's list, or each chunk's record. */
export async function exportedChunks(dir: string, m: DumpManifest): Promise<Map<string, ChunkFile>> {
  if (m.exportedAt && m.chunks) return new Map(Object.entries(m.chunks));
  const out = new Map<string, ChunkFile>();
  for (const [id, file] of chunkFiles(m.plan)) {
    const rec = await readChunkRecord(dir, file);
    if (rec) out.set(id, rec);
  }
  return out;
}

/** Once every chunk is exported: the manifest lists them all, and the directory is ready to move. */
export async function sealManifest(dir: string, m: DumpManifest): Promise<DumpManifest | undefined> {
  if (m.exportedAt) return m;
  const files = await exportedChunks(dir, m);
  if (allChunks(m.plan).some((c) => !files.has(c.id))) return undefined;
  const sealed: DumpManifest = {
    ...m,
    exportedAt: new Date().toISOString(),
    chunks: Object.fromEntries(files),
  };
  await writeFileAtomic(manifestPath(dir), JSON.stringify(sealed));
  return sealed;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Every file present with the size and sha256 the export recorded; one error lists those that are not. */
export async function verifyFiles(
  dir: string,
  records: readonly ChunkFile[],
  parallelism: number,
  resumed = false,
): Promise<void> {
  const problems: string[] = [];
  await runPool(
    records,
    parallelism,
    async () => undefined,
    async (rec) => {
      const path = join(dir, rec.file);
      const size = await stat(path).then(
        (st) => st.size,
        (err: unknown) => {
          if (isMissing(err)) return undefined;
          throw err;
        },
      );
      const facts =
        size === undefined
          ? ({ missing: true } as const)
          : {
              missing: false as const,
              bytes: size,
              ...(size === rec.bytes && { sha256: await sha256File(path) }),
            };
      const problem = fileProblem(dir, rec, facts);
      if (problem) problems.push(problem);
    },
    async () => {},
  );
  const nothing = resumed ? 'nothing more was imported' : 'nothing was imported';
  if (problems.length)
    throw new DumpError(
      problems.length === 1
        ? `${problems[0]}; ${nothing}`
        : `${problems.length} damaged dump files, ${nothing}: ${problems.sort().join('; ')}`,
    );
}

export async function writeCompletion(dir: string, c: Completion): Promise<void> {
  await writeFileAtomic(completionPath(dir), JSON.stringify(c, null, 2) + '\n');
}

/**
 * Removes what ferry wrote into the directory: the chunks' files and records (temporary ones of a
 * killed writer included), the manifest, the completion record; the directory itself when empty.
 */
export async function removeDump(dir: string, m: DumpManifest): Promise<number> {
  const ours = [...chunkFiles(m.plan).values()].map((f) => f.slice(CHUNK_DIR.length + 1));
  const chunks = join(dir, CHUNK_DIR);
  const entries = await readdir(chunks).catch((err: unknown) => {
    if (isMissing(err)) return [];
    throw err;
  });
  let removed = 0;
  for (const e of entries)
    if (ours.some((f) => e.startsWith(f))) {
      await rm(join(chunks, e), { force: true });
      removed++;
    }
  // The manifest and the completion record, and temporary files of a writer killed while writing them.
  for (const e of await readdir(dir).catch(() => []))
    if (e.startsWith(MANIFEST_FILE) || e.startsWith(COMPLETION_FILE)) await rm(join(dir, e), { force: true });
  for (const d of [chunks, dir]) await rmdir(d).catch(() => {});
  return removed;
}

/** The directory itself, or its nearest existing ancestor: where it lives, or would be created. */
export async function nearestExisting(dir: string): Promise<{ at: string; isDirectory: boolean }> {
  for (let at = resolve(dir); ; at = dirname(at)) {
    const st = await stat(at).catch(() => undefined);
    if (st) return { at, isDirectory: st.isDirectory() };
    if (dirname(at) === at) throw new DumpError(`${dir}: no existing directory on its path`);
  }
}

/** Free bytes on the filesystem that holds (or will hold) `dir`. */
export async function freeBytesAt(dir: string): Promise<{ at: string; free: number }> {
  const { at } = await nearestExisting(dir);
  const fs = await statfs(at);
  return { at, free: fs.bavail * fs.bsize };
}
