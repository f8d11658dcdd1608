// A chunk's file: the sink the export writes one chunk's COPY stream into, and the source the import
// reads it back from, next to the memory pipe (pipe.ts) that connects both databases directly. The
// stream passes through untouched (the bytes COPY TO wrote are the bytes COPY FROM reads), zstd
// compressed, with backpressure end to end, so memory stays bounded whatever the chunk's size.
//
// Export: the chunk's rows are read through the source dialect in one snapshot that also measures
// them (count and checksum, the digest the import validates against); the file is written under a temporary name,
// fsynced and renamed, and only then recorded. Import: the chunk's rows and its done-row commit in one
// target transaction, after the file's sha256 and row count matched what the export recorded.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createZstdCompress, createZstdDecompress } from 'node:zlib';
import { from as copyFrom } from 'pg-copy-streams';
import type { Validation } from '../api/migration.ts';
import type { Client } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { FILE_MODE, fsyncDir } from '../dump/directory.ts';
import { DumpError, type ChunkFile } from '../dump/format.ts';
import type { ChunkDone } from '../state/progress.ts';
import type { SourceSession } from '../source/dialect.ts';
import { copyInSql, loadChunk, Meter, type ChunkCopy } from './pipe.ts';

/** zlib's output pieces: larger than its 16 KiB default, fewer writes into COPY and onto disk. */
const STREAM_CHUNK = 128 * 1024;

/** Hashes and counts what flows through, passing it on untouched. */
class Digest extends Transform {
  bytes = 0;
  readonly hash: Hash = createHash('sha256');
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

export interface ExportOptions {
  /** Relative to the directory (format.ts, chunkFileName). */
  file: string;
  /** Measure the chunk's rows as validation does (the digest the import validates against); none: not measured. */
  measure?: Validation;
  onBytes?: (n: number) => void;
}

/**
 * Exports one chunk from the source into its file; returns the record to write once the file is
 * durable. The session reads the rows and their measure in one snapshot (SourceSession.exportChunk).
 */
export async function exportChunk(
  src: SourceSession,
  dir: string,
  c: ChunkCopy,
  o: ExportOptions,
): Promise<ChunkFile> {
  if (!src.exportChunk)
    throw new ConfigError('spec.transfer.method: Dump needs a postgres source; use method Pipe');
  const path = join(dir, o.file);
  const tmp = `${path}.tmp`;
  const meter = new Meter(o.onBytes ?? (() => {}));
  const digest = new Digest();
  const { rows, measured } = await src.exportChunk(c.read, o.measure, (copy) =>
    pipeline(
      copy,
      meter,
      createZstdCompress({ chunkSize: STREAM_CHUNK, params: { [constants.ZSTD_c_checksumFlag]: 1 } }),
      digest,
      createWriteStream(tmp, { mode: FILE_MODE }),
    ),
  );
  // One snapshot read both: a difference would be ferry's own bug, never the data's.
  if (measured && measured.rows !== String(rows))
    throw new Error(`internal: chunk ${c.chunkId} measured ${measured.rows} rows but exported ${rows}`);
  const h = await open(tmp, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
  await fsyncDir(join(path, '..'));
  return {
    chunk: c.chunkId,
    file: o.file,
    format: c.binary ? 'binary' : 'text',
    rows,
    rawBytes: meter.bytes,
    bytes: digest.bytes,
    sha256: digest.hash.digest('hex'),
    digest: measured ?? { rows: String(rows), checksum: null },
    exportedAt: new Date().toISOString(),
  };
}

const explainFileError = (err: Error) =>
  (err as NodeJS.ErrnoException).code === 'ENOENT'
    ? 'missing'
    : `cannot be read back (${err.message}): corrupted or truncated`;

/**
 * Imports one chunk's file into the target inside one transaction, committed with the chunk's
 * done-row only when the file is the one exported (sha256) and delivered every row it recorded.
 */
export async function importChunk(
  dst: Client,
  dir: string,
  c: ChunkCopy,
  rec: ChunkFile,
  onBytes: (n: number) => void = () => {},
): Promise<ChunkDone> {
  const path = join(dir, rec.file);
  if (rec.format !== (c.binary ? 'binary' : 'text'))
    throw new DumpError(`${path}: exported in ${rec.format} COPY format, the catalog says otherwise`);
  return loadChunk(dst, c, async () => {
    const file = createReadStream(path);
    const digest = new Digest();
    const unzip = createZstdDecompress({ chunkSize: STREAM_CHUNK });
    let broken: Error | undefined;
    for (const s of [file, unzip]) s.once('error', (e: Error) => (broken ??= e));
    const into = dst.query(copyFrom(copyInSql(c)));
    try {
      await pipeline(file, digest, unzip, new Meter(onBytes), into);
    } catch (err) {
      if (broken)
        throw new DumpError(
          `${path}: ${explainFileError(broken)} (chunk ${rec.chunk}); nothing of it was imported`,
          { cause: err },
        );
      throw err;
    }
    if (digest.hash.digest('hex') !== rec.sha256)
      throw new DumpError(
        `${path}: its sha256 differs from the one recorded at export (corrupted; chunk ${rec.chunk}); nothing of it was imported`,
      );
    const rows = Number(into.rowCount ?? 0);
    if (rows !== rec.rows)
      throw new DumpError(
        `${path}: delivered ${rows} rows, the export wrote ${rec.rows}; nothing of it was imported`,
      );
    return { rows, bytes: rec.rawBytes };
  });
}
