// Replaying recorded changes on the target, in batches, exactly once. Each batch's net effect
// (deletes, then upserts by key) commits in one target transaction together with the batch's log
// positions; the entries are then trimmed from the source log. A replayer killed between the two
// finds the positions on the target and skips those entries: nothing is applied twice, nothing lost.
import type { Catalog, Table } from '../catalog/types.ts';
import { inTransaction, type Client } from '../db/connect.ts';
import { columnList, qualified, quoteIdent } from '../db/ident.ts';
import { copiedColumns } from '../transfer/table-copy.ts';
import { LOG_TABLE } from './record.ts';
import { netEffects, type LogEntry, type TableEffects } from './effects.ts';

export async function createReplayBookkeeping(dst: Client, bookkeeping: string): Promise<void> {
  await dst.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(bookkeeping, 'replay_applied')} (seq bigint PRIMARY KEY)`,
  );
  await dst.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(bookkeeping, 'touched')} (tbl text NOT NULL, key jsonb NOT NULL, PRIMARY KEY (tbl, key))`,
  );
}

const keyMatch = (t: Table, a: string, b: string) =>
  t.key.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');

export function deleteSql(t: Table, schema: string): string {
  return `DELETE FROM ${qualified(schema, t.name)} t USING jsonb_populate_recordset(NULL::${qualified(schema, t.name)}, $1) k WHERE ${keyMatch(t, 't', 'k')}`;
}

export function upsertSql(t: Table, schema: string): string {
  const cols = copiedColumns(t);
  const rest = cols.filter((c) => !t.key.includes(c));
  const overriding = t.columns.some((c) => c.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '';
  const onConflict = rest.length
    ? `DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`
    : 'DO NOTHING';
  return (
    `INSERT INTO ${qualified(schema, t.name)} (${columnList(cols)})${overriding} ` +
    `SELECT ${columnList(cols)} FROM jsonb_populate_recordset(NULL::${qualified(schema, t.name)}, $1) ` +
    `ON CONFLICT (${columnList(t.key)}) ${onConflict}`
  );
}

export interface Lag {
  pending: number;
  oldestSeconds: number;
}

export async function lag(src: Client, shadow: string): Promise<Lag> {
  const { rows } = await src.query<{ n: string; age: number | null }>(
    `SELECT count(*)::text AS n, extract(epoch FROM clock_timestamp() - min(at))::float8 AS age FROM ${qualified(shadow, LOG_TABLE)}`,
  );
  return { pending: Number(rows[0]!.n), oldestSeconds: Math.max(0, rows[0]!.age ?? 0) };
}

export interface Replayer {
  catalog: Catalog;
  shadow: string;
  targetSchema: string;
  batchSize: number;
}

/** Applies one batch; returns how many log entries it consumed (0 when the log is empty). */
export async function replayBatch(src: Client, dst: Client, r: Replayer): Promise<number> {
  // seq is bigint, which node-postgres hands over as a string; the order must come from the bigint
  // column itself (a `seq::text` alias would sort '1027' before '861' and replay changes out of order).
  const { rows } = await src.query<LogEntry>(
    `SELECT seq, tbl, op::text AS op, old_key, new_row FROM ${qualified(r.shadow, LOG_TABLE)} ORDER BY seq LIMIT ${r.batchSize}`,
  );
  if (rows.length === 0) return 0;
  const seqs = rows.map((e) => e.seq);
  const applied = new Set(
    (
      await dst.query<{ seq: string }>(
        `SELECT seq::text FROM ${qualified(r.shadow, 'replay_applied')} WHERE seq = ANY($1::bigint[])`,
        [seqs],
      )
    ).rows.map((x) => x.seq),
  );
  const todo = rows.filter((e) => !applied.has(e.seq));
  if (todo.length) {
    const tables = new Map(r.catalog.tables.map((t) => [t.name, t]));
    const effects = netEffects(todo, (name) => tables.get(name)?.key ?? []);
    await inTransaction(dst, async () => {
      for (const [name, fx] of effects) await applyEffects(dst, tables.get(name)!, fx, r);
      await dst.query(`INSERT INTO ${qualified(r.shadow, 'replay_applied')} SELECT unnest($1::bigint[])`, [
        todo.map((e) => e.seq),
      ]);
    });
  }
  await src.query(`DELETE FROM ${qualified(r.shadow, LOG_TABLE)} WHERE seq = ANY($1::bigint[])`, [seqs]);
  await dst.query(`DELETE FROM ${qualified(r.shadow, 'replay_applied')} WHERE seq = ANY($1::bigint[])`, [
    seqs,
  ]);
  return rows.length;
}

async function applyEffects(dst: Client, t: Table, fx: TableEffects, r: Replayer): Promise<void> {
  if (fx.deletes.length) await dst.query(deleteSql(t, r.targetSchema), [JSON.stringify(fx.deletes)]);
  if (fx.upserts.length) await dst.query(upsertSql(t, r.targetSchema), [JSON.stringify(fx.upserts)]);
  const keys = [
    ...fx.deletes,
    ...fx.upserts.map((row) => Object.fromEntries(t.key.map((k) => [k, row[k] ?? null]))),
  ];
  await dst.query(
    `INSERT INTO ${qualified(r.shadow, 'touched')} (tbl, key) SELECT $1, k FROM jsonb_array_elements($2::jsonb) k ON CONFLICT DO NOTHING`,
    [t.name, JSON.stringify(keys)],
  );
}

/** Column lists as the catalog saw them; a difference means someone changed the table's schema. */
export async function schemaDrift(
  src: Client,
  catalog: Catalog,
  tables: readonly string[],
): Promise<string | undefined> {
  await src.query('BEGIN');
  try {
    await src.query(`SET LOCAL search_path = ${quoteIdent(catalog.schema)}`);
    const { rows } = await src.query<{ name: string; cols: string | null }>(
      `SELECT t.name, (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                         FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
         FROM unnest($2::text[]) AS t(name)
         LEFT JOIN pg_class c ON c.relname = t.name AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)`,
      [catalog.schema, tables],
    );
    for (const row of rows) {
      const t = catalog.tables.find((x) => x.name === row.name)!;
      const expected = t.columns.map((c) => `${c.name} ${c.type}`).join(', ');
      if (row.cols !== expected)
        return `the schema of table ${row.name} changed while its changes were being recorded (${row.cols === null ? 'table dropped' : `columns now: ${row.cols}`}); the replay cannot continue: fall back (ferry fallback) and start again`;
    }
    return undefined;
  } finally {
    await src.query('COMMIT');
  }
}
