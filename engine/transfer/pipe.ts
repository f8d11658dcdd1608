// The memory pipe: one chunk streams from the source's COPY TO into the target's COPY FROM, with
// backpressure end to end (pipeline), so memory stays bounded whatever the table size. The chunk's
// rows and its "done" row commit in one target transaction.
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Client } from '../db/connect.ts';
import { columnList } from '../db/ident.ts';
import { markChunkDone, type ChunkDone } from '../state/progress.ts';
import { formatDigest, type CopyDigest } from '../validate/digest.ts';

export interface ChunkCopy {
  chunkId: string;
  /** Qualified, quoted names. */
  sourceTable: string;
  targetTable: string;
  /** FROM clause of the source table's own rows (rowsOf: `ONLY t`, an inheritance parent without its children). */
  sourceRows: string;
  columns: string[];
  /** WHERE clause (may be empty). */
  predicate: string;
  /** Binary COPY is faster but embeds type oids, so it is only used when every column is built in. */
  binary: boolean;
  progressSchema: string;
  /** Read the source through this exported snapshot (downtime-optimized initial copy). */
  snapshot?: string;
}

/**
 * Counts the bytes flowing through. copy-from already coalesces writes (cork/_writev), so chunks pass
 * through untouched: no copies, no garbage beyond what the driver makes.
 */
export class Meter extends Transform {
  bytes = 0;
  private readonly onBytes: (n: number, data: Buffer) => void;
  constructor(onBytes: (n: number, data: Buffer) => void) {
    super();
    this.onBytes = onBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length, chunk);
    cb(null, chunk);
  }
}

/** `COPY t TO` reads t's own rows only (never a child's); the query form says so with sourceRows. */
export function copyOutSql(
  c: Pick<ChunkCopy, 'sourceTable' | 'sourceRows' | 'columns' | 'predicate' | 'binary'>,
): string {
  const format = c.binary ? 'binary' : 'text';
  const cols = columnList(c.columns);
  const what = c.predicate
    ? `(SELECT ${cols} FROM ${c.sourceRows} ${c.predicate})`
    : `${c.sourceTable} (${cols})`;
  return `COPY ${what} TO STDOUT (FORMAT ${format})`;
}

export function copyInSql(c: Pick<ChunkCopy, 'targetTable' | 'columns' | 'binary'>): string {
  return `COPY ${c.targetTable} (${columnList(c.columns)}) FROM STDIN (FORMAT ${c.binary ? 'binary' : 'text'})`;
}

/** Streams one COPY TO from the source into one COPY FROM on the target; both inside the callers' transactions. */
export async function pipeCopy(
  src: Client,
  dst: Client,
  outSql: string,
  inSql: string,
  onBytes: (n: number, data: Buffer) => void = () => {},
): Promise<{ rows: number; bytes: number }> {
  const meter = new Meter(onBytes);
  const into = dst.query(copyFrom(inSql));
  await pipeline(src.query(copyTo(outSql)), meter, into);
  return { rows: Number(into.rowCount ?? 0), bytes: meter.bytes };
}

/**
 * Runs `load` (a COPY into the target) in one target transaction that commits together with the
 * chunk's done-row, or rolls back whole.
 */
export async function loadChunk(
  dst: Client,
  c: Pick<ChunkCopy, 'chunkId' | 'progressSchema'>,
  load: () => Promise<Pick<ChunkDone, 'rows' | 'bytes' | 'digest'>>,
): Promise<ChunkDone> {
  const started = performance.now();
  await dst.query('BEGIN');
  try {
    const loaded = await load();
    const done: ChunkDone = { chunk: c.chunkId, ...loaded, seconds: (performance.now() - started) / 1000 };
    await markChunkDone(dst, c.progressSchema, done);
    await dst.query('COMMIT');
    return done;
  } catch (err) {
    await dst.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** With `digest`, the rows read from the source are digested too, and the digest recorded with the chunk. */
export async function copyChunk(
  src: Client,
  dst: Client,
  c: ChunkCopy,
  onBytes: (n: number) => void,
  digest?: CopyDigest,
): Promise<ChunkDone> {
  let sourceTx = false;
  try {
    return await loadChunk(dst, c, async () => {
      if (c.snapshot) {
        await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        sourceTx = true;
        await src.query(`SET TRANSACTION SNAPSHOT '${c.snapshot.replaceAll("'", "''")}'`);
      }
      const tap = digest ? (n: number, data: Buffer) => (onBytes(n), digest.update(data)) : onBytes;
      const { rows, bytes } = await pipeCopy(src, dst, copyOutSql(c), copyInSql(c), tap);
      return { rows, bytes, ...(digest && { digest: formatDigest(digest.result()) }) };
    });
  } finally {
    if (sourceTx) await src.query('COMMIT').catch(() => {});
  }
}
