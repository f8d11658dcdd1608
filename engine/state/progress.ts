// ferry's bookkeeping on the target, in a schema of its own next to the migrated tables. A chunk's
// "done" row commits in the same transaction as the chunk's rows, and a post-load step's row in the
// same transaction as its DDL: a crash at any moment leaves each either fully there or not at all.
import type { Client } from '../db/connect.ts';
import { qualified, quoteIdent } from '../db/ident.ts';
import { BOOKKEEPING_MARKER, type Recorded } from './owner.ts';
import { markSchema } from '../db/schemas.ts';

/** Its marker names the owner recorded in the shadow schema: fallback drops it only for that owner. */
export async function createProgressSchema(c: Client, schema: string, owner: Recorded): Promise<void> {
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  await markSchema(c, schema, BOOKKEEPING_MARKER, owner);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, 'chunk_done')} (
       chunk text PRIMARY KEY, rows bigint NOT NULL, bytes bigint NOT NULL, seconds float8 NOT NULL,
       done_at timestamptz NOT NULL DEFAULT now(), digest text)`,
  );
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, 'step_done')} (
       step text PRIMARY KEY, seconds float8 NOT NULL, done_at timestamptz NOT NULL DEFAULT now())`,
  );
}

export interface ChunkDone {
  chunk: string;
  rows: number;
  bytes: number;
  seconds: number;
  /** The digest of the rows the copy read from the source (validate/digest.ts), when it took one. */
  digest?: string;
}

export async function doneChunks(c: Client, schema: string): Promise<Map<string, ChunkDone>> {
  // The digest column through to_jsonb: bookkeeping made by an earlier ferry has none.
  const { rows } = await c.query<{
    chunk: string;
    rows: string;
    bytes: string;
    seconds: number;
    digest: string | null;
  }>(
    `SELECT chunk, rows, bytes, seconds, to_jsonb(d) ->> 'digest' AS digest FROM ${qualified(schema, 'chunk_done')} d`,
  );
  return new Map(
    rows.map((r) => [
      r.chunk,
      {
        chunk: r.chunk,
        rows: Number(r.rows),
        bytes: Number(r.bytes),
        seconds: r.seconds,
        ...(r.digest !== null && { digest: r.digest }),
      },
    ]),
  );
}

/** Must run inside the transaction that wrote the chunk's rows. */
export async function markChunkDone(c: Client, schema: string, done: ChunkDone): Promise<void> {
  const [columns, values] = done.digest === undefined ? ['', ''] : [', digest', ', $5'];
  await c.query(
    `INSERT INTO ${qualified(schema, 'chunk_done')} (chunk, rows, bytes, seconds, done_at${columns})
     VALUES ($1, $2, $3, $4, clock_timestamp()${values})`,
    [done.chunk, done.rows, done.bytes, done.seconds, ...(done.digest === undefined ? [] : [done.digest])],
  );
}

/** Whether the bookkeeping records chunk digests (that made by an earlier ferry does not). */
export async function recordsDigests(c: Client, schema: string): Promise<boolean> {
  const { rowCount } = await c.query(
    `SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'digest' AND NOT attisdropped`,
    [qualified(schema, 'chunk_done')],
  );
  return rowCount === 1;
}

export async function doneSteps(c: Client, schema: string): Promise<Set<string>> {
  const { rows } = await c.query<{ step: string }>(`SELECT step FROM ${qualified(schema, 'step_done')}`);
  return new Set(rows.map((r) => r.step));
}

/** Inside the transaction that ran the step's DDL, if it ran one. Recording it twice keeps the first. */
export async function markStepDone(c: Client, schema: string, step: string, seconds: number): Promise<void> {
  await c.query(
    `INSERT INTO ${qualified(schema, 'step_done')} (step, seconds, done_at) VALUES ($1, $2, clock_timestamp())
     ON CONFLICT (step) DO NOTHING`,
    [step, seconds],
  );
}

/** Claims a step for this transaction: waits for whoever else runs it (a transfer Pod); true if it is still to do. */
export async function claimStep(c: Client, schema: string, step: string): Promise<boolean> {
  // Inside the step's transaction: the lock is held until it commits with its done-row.
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${schema}/${step}`]);
  const { rowCount } = await c.query(`SELECT 1 FROM ${qualified(schema, 'step_done')} WHERE step = $1`, [
    step,
  ]);
  return rowCount === 0;
}

export interface Work {
  /** A copied chunk: `copy`; a recorded step: its name. */
  what: string;
  seconds: number;
  /** When it ended (epoch ms). */
  endedAt: number;
}

/** Every copied chunk and recorded step with its duration and end, for the report. */
export async function workDone(c: Client, schema: string): Promise<Work[]> {
  const { rows } = await c.query<{ what: string; seconds: number; ended: string }>(
    `SELECT 'copy' AS what, seconds, (extract(epoch FROM done_at) * 1000)::text AS ended FROM ${qualified(schema, 'chunk_done')}
     UNION ALL SELECT step, seconds, (extract(epoch FROM done_at) * 1000)::text FROM ${qualified(schema, 'step_done')}`,
  );
  return rows.map((r) => ({ what: r.what, seconds: r.seconds, endedAt: Number(r.ended) }));
}
