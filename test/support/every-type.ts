// Loads the every-type fixture (every-type.sql) into a schema of the caller's choosing: the SQL
// names no schema and runs with search_path set to the one it fills.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { quoteIdent } from '../../engine/db/ident.ts';

export const EVERY_TYPE_SQL = join(import.meta.dirname, 'every-type.sql');

/** Creates `schema` and fills it, in one transaction; the session's search_path is left as it was. */
export async function loadEveryType(c: pg.ClientBase, schema: string): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
    await c.query(readFileSync(EVERY_TYPE_SQL, 'utf8'));
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
