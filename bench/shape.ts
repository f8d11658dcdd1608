// What a migration from MariaDB must reproduce on the target, where the tools name objects
// differently (pgloader: `idx_<oid>_<name>`; ferry: `<table>_<name>`): per table its exact row
// count, how many indexes (unique ones, the primary key) and how many validated foreign keys.
// CHECK constraints are not compared: pgloader does not migrate them.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import pg from 'pg';
import { qualified } from '../engine/db/ident.ts';
import { mysqlQualified } from '../engine/source/mysql/store.ts';

export interface Shape {
  table: string;
  rows: number;
  indexes: number;
  unique: number;
  primary: boolean;
  foreignKeys: number;
}

/** One line per fact, sorted, for `differences`. */
export const shapeLines = (shapes: readonly Shape[]): string[] =>
  shapes
    .flatMap((s) => [
      `rows ${s.table} ${s.rows}`,
      `indexes ${s.table} ${s.indexes} (unique ${s.unique}${s.primary ? ', primary key' : ''})`,
      `foreign keys ${s.table} ${s.foreignKeys}`,
    ])
    .sort();

type Counts = Omit<Shape, 'rows'>;

/** Adds each table's exact row count (one query: `count` renders each table's count of rows). */
async function withRows(
  counts: Counts[],
  count: (tables: string[]) => Promise<Record<string, number>>,
): Promise<Shape[]> {
  const rows = counts.length ? await count(counts.map((c) => c.table)) : {};
  return counts.map((c) => ({ ...c, rows: rows[c.table] ?? NaN }));
}

/** The MariaDB database's shape; an index InnoDB made for a foreign key counts as an index (it is one). */
export async function mariadbShape(c: Connection, database: string): Promise<Shape[]> {
  const [counts] = await c.query<(RowDataPacket & Counts)[]>(
    `SELECT t.table_name AS \`table\`,
            COUNT(DISTINCT s.index_name) AS indexes,
            COUNT(DISTINCT IF(s.non_unique = 0, s.index_name, NULL)) AS \`unique\`,
            COALESCE(MAX(s.index_name = 'PRIMARY'), 0) = 1 AS \`primary\`,
            (SELECT COUNT(*) FROM information_schema.referential_constraints r
              WHERE r.constraint_schema = t.table_schema AND r.table_name = t.table_name) AS foreignKeys
       FROM information_schema.tables t
       LEFT JOIN information_schema.statistics s ON s.table_schema = t.table_schema AND s.table_name = t.table_name
      WHERE t.table_schema = ? AND t.table_type = 'BASE TABLE'
      GROUP BY t.table_schema, t.table_name`,
    [database],
  );
  return withRows(
    counts.map((r) => ({
      ...r,
      indexes: Number(r.indexes),
      unique: Number(r.unique),
      primary: Boolean(r.primary),
      foreignKeys: Number(r.foreignKeys),
    })),
    async (tables) => {
      const [rows] = await c.query<(RowDataPacket & { t: string; n: string })[]>(
        tables
          .map((t) => `SELECT ? AS t, COUNT(*) AS n FROM ${mysqlQualified(database, t)}`)
          .join(' UNION ALL '),
        tables,
      );
      return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
    },
  );
}

/** The target schema's shape. */
export async function targetShape(c: pg.Client, schema: string): Promise<Shape[]> {
  const { rows: counts } = await c.query<Counts>(
    `SELECT c.relname AS "table",
            (SELECT count(*)::int FROM pg_index i WHERE i.indrelid = c.oid) AS indexes,
            (SELECT count(*)::int FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique) AS "unique",
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS "primary",
            (SELECT count(*)::int FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.convalidated) AS "foreignKeys"
       FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p')`,
    [schema],
  );
  return withRows(counts, async (tables) => {
    const { rows } = await c.query<{ t: string; n: string }>(
      tables
        .map((t, i) => `SELECT $${i + 1}::text AS t, count(*)::text AS n FROM ${qualified(schema, t)}`)
        .join(' UNION ALL '),
      tables,
    );
    return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
  });
}
