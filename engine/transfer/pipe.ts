// The memory pipe: one chunk streams from the source (as COPY rows) into the target's COPY FROM, with
// backpressure end to end (pipeline), so memory stays bounded whatever the table size. The chunk's
// rows and its "done" row commit in one target transaction.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Client } from '../db/connect.ts';
import { columnList } from '../db/ident.ts';
import type { ChunkRead, SourceSession } from '../source/dialect.ts';
import { markChunkDone, type ChunkDone } from '../state/progress.ts';
import { formatDigest, type CopyDigest } from '../validate/digest.ts';

export interface ChunkCopy {
  chunkId: string;
  /** What the source reads (the source dialect renders it in its SQL). */
  read: ChunkRead;
  /** Qualified, quoted name. */
  targetTable: string;
  columns: string[];
  /** Binary COPY is faster but embeds type oids, so it is only used when every column is built in. */
  binary: boolean;
  /** The table's only chunk: its rows may land frozen (loadChunk). */
  whole?: boolean;
  progressSchema: string;
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

export function copyInSql(c: Pick<ChunkCopy, 'targetTable' | 'columns' | 'binary'>, freeze = false): string {
  return `COPY ${c.targetTable} (${columnList(c.columns)}) FROM STDIN (FORMAT ${c.binary ? 'binary' : 'text'}${freeze ? ', FREEZE' : ''})`;
}

/**
 * A table's only chunk lands frozen: emptied in its load's transaction (it holds no committed rows
 * of ferry's but a failed attempt's, which rolled back), so COPY FREEZE writes its rows already
 * frozen and all-visible, and the index builds, ANALYZE and validation that read them next set no
 * hint bits (no second write of every page). Not where a foreign key references the table: TRUNCATE
 * refuses it (a resumed DowntimeOptimized cutover may have one from an uptime table).
 */
async function emptiedForFreeze(dst: Client, c: Pick<ChunkCopy, 'targetTable' | 'whole'>): Promise<boolean> {
  if (!c.whole) return false;
  const { rows } = await dst.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND confrelid = $1::regclass`,
    [c.targetTable],
  );
  if (rows[0]!.n) return false;
  await dst.query(`TRUNCATE ${c.targetTable}`);
  return true;
}

/** Streams COPY rows from the source into one COPY FROM on the target, inside the target's transaction. */
export async function copyInto(
  dst: Client,
  inSql: string,
  rows: Readable,
  onBytes: (n: number, data: Buffer) => void = () => {},
): Promise<{ rows: number; bytes: number }> {
  const meter = new Meter(onBytes);
  const into = dst.query(copyFrom(inSql));
  await pipeline(rows, meter, into);
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

/**
 * One chunk from the source session (in its snapshot, if it has one) into the target. With `digest`,
 * the rows read from the source are digested too, and the digest recorded with the chunk.
 */
export const copyChunk = (
  src: SourceSession,
  dst: Client,
  c: ChunkCopy,
  onBytes: (n: number) => void,
  digest?: CopyDigest,
): Promise<ChunkDone> =>
  loadChunk(dst, c, async () => {
    const tap = digest ? (n: number, data: Buffer) => (onBytes(n), digest.update(data)) : onBytes;
    const freeze = await emptiedForFreeze(dst, c);
    const { rows, bytes } = await src.readChunk(c.read, (out) =>
      copyInto(dst, copyInSql(c, freeze), out, tap),
    );
    return { rows, bytes, ...(digest && { digest: formatDigest(digest.result()) }) };
  });
