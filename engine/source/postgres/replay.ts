// The source side of the replay on PostgreSQL (uptime/replay.ts applies it on the target): a batch
// is every entry of the change log visible in one REPEATABLE READ snapshot S, and the rows of the
// logged keys are read in S with COPY. Deleting the log in that same transaction removes only the
// entries S shows: those logged after S stay for the next batch.
import type { Readable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { rowsOf } from '../../catalog/relations.ts';
import { schemaOf, tableKey } from '../../catalog/schemas.ts';
import type { Catalog, Table } from '../../catalog/types.ts';
import type { Client } from '../../db/connect.ts';
import { columnList, qualified, quoteIdent, quoteLiteral } from '../../db/ident.ts';
import { copiedColumns, copyFormat, tableOf } from '../../transfer/table-copy.ts';
import { keyCasts } from '../../uptime/replay.ts';
import type { ChangeBatch, Lag, LogSummary } from '../dialect.ts';
import { PostgresReads } from './reads.ts';
import { LOG_TABLE } from './record.ts';

const keyRow = (t: Table, alias: string) => `(${t.key.map((k) => `${alias}.${quoteIdent(k)}`).join(', ')})`;

/**
 * The current rows of the keys logged for the table, minus rows living in relations that the batch
 * copies whole (a truncated partition of a partitioned table).
 */
export function rowsForKeysSql(
  t: Table,
  sourceSchema: string,
  shadow: string,
  wholeCopied: string[],
): string {
  const cols = columnList(copiedColumns(t));
  const keys = `SELECT ${keyCasts(t, (i) => `k.key[${i}]`).join(', ')} FROM ${qualified(shadow, LOG_TABLE)} k WHERE k.tbl = ${quoteLiteral(tableKey(t))} AND k.op <> 'T'`;
  const skip = wholeCopied.length
    ? ` AND x.tableoid <> ALL (ARRAY[${wholeCopied.map((r) => `${quoteLiteral(qualified(sourceSchema, r))}::regclass`).join(', ')}])`
    : '';
  return `COPY (SELECT ${cols} FROM ${rowsOf(sourceSchema, t)} x WHERE ${keyRow(t, 'x')} IN (${keys})${skip}) TO STDOUT (FORMAT ${copyFormat(t)})`;
}

export function copyWholeSql(t: Table, sourceSchema: string): string {
  return `COPY (SELECT ${columnList(copiedColumns(t))} FROM ${rowsOf(sourceSchema, t)}) TO STDOUT (FORMAT ${copyFormat(t)})`;
}

export async function lag(src: Client, shadow: string): Promise<Lag> {
  const { rows } = await src.query<{ n: string; age: number | null }>(
    `SELECT count(*)::text AS n, extract(epoch FROM clock_timestamp() - min(at))::float8 AS age FROM ${qualified(shadow, LOG_TABLE)}`,
  );
  return { pending: Number(rows[0]!.n), oldestSeconds: Math.max(0, rows[0]!.age ?? 0) };
}

/**
 * The log's entries in one REPEATABLE READ snapshot; undefined (and no transaction left open) when it
 * is empty, unless `evenEmpty`.
 */
export async function openBatch(
  c: Client,
  shadow: string,
  evenEmpty: boolean,
): Promise<ChangeBatch | undefined> {
  // A batch looks a few keys up in tables of any size: only nested loops over the keys' index. With a
  // hash or merge join, which statistics of the log left from a backlog can make the planner pick,
  // every batch would read the whole table.
  await c.query(
    'BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off',
  );
  try {
    const { rows } = await c.query<LogSummary>(
      `SELECT tbl, bool_or(op = 'T') AS truncated, bool_or(op <> 'T') AS keyed FROM ${qualified(shadow, LOG_TABLE)} GROUP BY tbl ORDER BY tbl`,
    );
    if (rows.length === 0 && !evenEmpty) {
      await c.query('COMMIT');
      return undefined;
    }
    // Key casts name the columns' types as the catalog rendered them, relative to the table's schema.
    let path = '';
    const inSchema = async <T>(schema: string, fn: () => Promise<T>) => {
      if (path !== schema) await c.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
      path = schema;
      return fn();
    };
    const copy = <T>(schema: string, sql: string, consume: (rows: Readable) => Promise<T>) =>
      inSchema(schema, () => consume(c.query(copyTo(sql))));
    return {
      summary: rows,
      // In the batch's transaction: every read sees S.
      reads: new PostgresReads(c, { inSnapshot: (fn) => fn(), inSchema }),
      keys: (consume) =>
        consume(
          c.query(
            copyTo(
              `COPY (SELECT DISTINCT tbl, key FROM ${qualified(shadow, LOG_TABLE)} WHERE op <> 'T') TO STDOUT`,
            ),
          ),
        ),
      rows: (t, schema, skip, consume) =>
        copy(
          schema,
          rowsForKeysSql(
            t,
            schema,
            shadow,
            skip.map((x) => x.name),
          ),
          consume,
        ),
      whole: (t, schema, consume) => copy(schema, copyWholeSql(t, schema), consume),
      forget: async () => (await c.query(`DELETE FROM ${qualified(shadow, LOG_TABLE)}`)).rowCount ?? 0,
      commit: async () => void (await c.query('COMMIT')),
      rollback: async () => void (await c.query('ROLLBACK')),
    };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Column lists as the catalog saw them; a difference means someone changed the table's schema. */
export async function schemaDrift(
  src: Client,
  catalog: Catalog,
  tables: readonly string[],
): Promise<string | undefined> {
  await src.query('BEGIN');
  try {
    // Types render relative to the table's own schema, as the catalog captured them.
    const bySchema = new Map<string, Table[]>();
    for (const key of tables) {
      const t = tableOf(catalog, key);
      bySchema.set(schemaOf(catalog, t), [...(bySchema.get(schemaOf(catalog, t)) ?? []), t]);
    }
    for (const [schema, list] of bySchema) {
      await src.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
      const { rows } = await src.query<{ name: string; cols: string | null }>(
        `SELECT t.name, (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
           FROM unnest($2::text[]) AS t(name)
           LEFT JOIN pg_class c ON c.relname = t.name AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)`,
        [schema, list.map((t) => t.name)],
      );
      for (const row of rows) {
        const t = list.find((x) => x.name === row.name)!;
        const expected = t.columns.map((c) => `${c.name} ${c.type}`).join(', ');
        if (row.cols !== expected)
          return `the schema of table ${tableKey(t)} changed while its changes were being recorded (${row.cols === null ? 'table dropped' : `columns now: ${row.cols}`}); the replay cannot continue: fall back (ferry fallback) and start again`;
      }
    }
    return undefined;
  } finally {
    await src.query('COMMIT');
  }
}
