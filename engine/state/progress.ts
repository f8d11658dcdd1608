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
       done_at timestamptz NOT NULL DEFAULT now())`,
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
}

export async function doneChunks(c: Client, schema: string): Promise<Map<string, ChunkDone>> {
  const { rows } = await c.query<{ chunk: string; rows: string; bytes: string; seconds: number }>(
    `SELECT chunk, rows, bytes, seconds FROM ${qualified(schema, 'chunk_done')}`,
  );
  return new Map(
    rows.map((r) => [
      r.chunk,
      { chunk: r.chunk, rows: Number(r.rows), bytes: Number(r.bytes), seconds: r.seconds },
    ]),
  );
}

/** Must run inside the transaction that wrote the chunk's rows. */
export async function markChunkDone(c: Client, schema: string, done: ChunkDone): Promise<void> {
  await c.query(
    `INSERT INTO ${qualified(schema, 'chunk_done')} (chunk, rows, bytes, seconds) VALUES ($1, $2, $3, $4)`,
    [done.chunk, done.rows, done.bytes, done.seconds],
  );
}

export async function doneSteps(c: Client, schema: string): Promise<Set<string>> {
  const { rows } = await c.query<{ step: string }>(`SELECT step FROM ${qualified(schema, 'step_done')}`);
  return new Set(rows.map((r) => r.step));
}

/** Must run inside the transaction that ran the step's DDL. */
export async function markStepDone(c: Client, schema: string, step: string, seconds: number): Promise<void> {
  await c.query(`INSERT INTO ${qualified(schema, 'step_done')} (step, seconds) VALUES ($1, $2)`, [
    step,
    seconds,
  ]);
}
