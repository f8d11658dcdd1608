// ferry's key/value state table on PostgreSQL: in a PostgreSQL source's shadow schema, and in the
// target's bookkeeping schema where ferry import keeps the state of a system move.
import type { Client } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';

export async function createStateTable(c: Client, schema: string): Promise<void> {
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, 'state')} (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
}

export async function getState<T>(c: Client, schema: string, key: string): Promise<T | undefined> {
  const { rows } = await c.query<{ value: T }>(
    `SELECT value FROM ${qualified(schema, 'state')} WHERE key = $1`,
    [key],
  );
  return rows[0]?.value;
}

export async function putState(c: Client, schema: string, key: string, value: unknown): Promise<void> {
  await c.query(
    `INSERT INTO ${qualified(schema, 'state')} (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}
