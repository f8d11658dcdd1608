// The source side of the replay on SQL Server (uptime/replay.ts applies it on the target). A batch is
// every entry of the log tables visible in one SNAPSHOT transaction S, and the rows of the logged
// keys are read in S. The first statement reads each log's highest id (a snapshot starts at its
// first read); every later statement of the batch reads ids up to it only. forget() deletes the
// batch's entries inside S: under SNAPSHOT isolation a DELETE sees only the rows S shows, so an entry
// with a lower id committed after S (identity values are handed out before commit) stays for the
// next batch. The deletion commits with commit(), after the target has committed.
import { Readable } from 'node:stream';
import type { Conversion } from '../../api/settings.ts';
import { schemaOf, tableKey } from '../../catalog/schemas.ts';
import type { Catalog, Column, Table } from '../../catalog/types.ts';
import { copiedColumns } from '../../transfer/table-copy.ts';
import type { ChangeBatch, Lag, LogSummary, SnapshotReads } from '../dialect.ts';
import { keyRow } from '../key-row.ts';
import { mssqlInfo, type MssqlColumnInfo, type MssqlType } from './column.ts';
import { mssqlIdent, mssqlLiteral, mssqlQualified, type MssqlConnection } from './connect.ts';
import { tableIdsSql } from './fence.ts';
import { columnTypeSql, exactGroup, keyColumns, logKey, logTable } from './record.ts';
import { LARGE_VALUE_BYTES, largeSelectList } from './large-values.ts';
import { largeColumns, readRows, streamRows } from './read.ts';
import { MARKER, STATE } from './store.ts';

/** A recorded table, its source schema, and its log's position (its catalog position). */
export interface Logged {
  table: Table;
  schema: string;
  index: number;
}

export const loggedOf = (catalog: Catalog, recorded: readonly string[]): Logged[] =>
  catalog.tables.flatMap((table, index) =>
    recorded.includes(tableKey(table)) ? [{ table, schema: schemaOf(catalog, table), index }] : [],
  );

/**
 * The value encoding the batch needs (encode.ts's functions): how a column is selected and the text
 * PostgreSQL reads back for one value (rows are encoded by read.ts's readRows).
 */
export interface ValueCodec {
  selectExpression(column: string, info: MssqlColumnInfo): string;
  canonicalText(
    value: unknown,
    info: MssqlColumnInfo,
    at: { table: string; column: string },
    conversion: Conversion,
  ): string | null;
}

/** The highest log id per log as strings (m0, m1, ... in `logged` order; null: empty), the snapshot's first read. */
export function maxIdsSql(store: string, logged: readonly Logged[]): string {
  const max = logged.map(
    (l, j) =>
      `(SELECT CAST(MAX(id) AS varchar(20)) FROM ${mssqlQualified(store, logTable(l.index))}) AS ${mssqlIdent(`m${j}`)}`,
  );
  // From the state table: a read of a table even without logs, so the snapshot starts here.
  return `SELECT ${['1 AS one', ...max].join(', ')} FROM ${mssqlQualified(store, STATE)} WHERE k = ${mssqlLiteral(MARKER)}`;
}

const checkId = (id: string) => {
  if (!/^[0-9]{1,19}$/.test(id)) throw new Error(`internal: log id ${id} is not an integer`);
  return id;
};

/** The distinct logged keys of a table up to `max`, selected as encode.ts selects the column's values. */
export function keysSql(store: string, l: Logged, max: string, codec: ValueCodec): string {
  const key = keyColumns(l.table);
  const select = key.map((k, j) => codec.selectExpression(logKey(j), k.info));
  // Distinct by bytes: a collation may call 'a' and 'A' one value, the target does not.
  const group = key.flatMap((k, j) => exactGroup(mssqlIdent(logKey(j)), k.info));
  return `SELECT ${select.join(', ')} FROM ${mssqlQualified(store, logTable(l.index))}
    WHERE id <= ${checkId(max)} GROUP BY ${group.join(', ')}`;
}

/**
 * The table's columns `columns` renamed c0, c1, ... in a derived table, so that encode.ts's select
 * expressions see plain names whatever the table's own are; large (max) values as readRows reads
 * them apart (largeSelectList).
 */
function selectRenamed(
  t: Table,
  schema: string,
  columns: readonly Column[],
  codec: ValueCodec,
  where: string,
): string {
  const inner = columns.map((c, j) => `t.${mssqlIdent(c.name)} AS ${mssqlIdent(`c${j}`)}`);
  const outer = largeSelectList(
    columns.map((_, j) => `c${j}`),
    columns.map(mssqlInfo),
    largeColumns(t, columns),
    LARGE_VALUE_BYTES,
    codec.selectExpression,
  );
  return `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${mssqlQualified(schema, t.name)} AS t${where}) AS x`;
}

const copied = (t: Table): Column[] => {
  const names = copiedColumns(t);
  return names.map((n) => t.columns.find((c) => c.name === n)!);
};

/** The table's current rows whose key a log entry up to `max` names (SQL Server's own equality, as the key's). */
export function rowsSql(store: string, l: Logged, max: string, codec: ValueCodec): string {
  const match = keyColumns(l.table)
    .map((k, j) => `g.${mssqlIdent(logKey(j))} = t.${mssqlIdent(k.name)}`)
    .join(' AND ');
  return selectRenamed(
    l.table,
    l.schema,
    copied(l.table),
    codec,
    ` WHERE EXISTS (SELECT 1 FROM ${mssqlQualified(store, logTable(l.index))} AS g WHERE g.id <= ${checkId(max)} AND ${match})`,
  );
}

export function wholeSql(t: Table, schema: string, codec: ValueCodec): string {
  return selectRenamed(t, schema, copied(t), codec, '');
}

export const forgetSql = (store: string, l: Logged, max: string) =>
  `DELETE FROM ${mssqlQualified(store, logTable(l.index))} WHERE id <= ${checkId(max)}`;

export interface BatchOptions {
  store: string;
  logged: readonly Logged[];
  conversion: Conversion;
  codec: ValueCodec;
  /** Open the snapshot even when the logs are empty. */
  evenEmpty: boolean;
}

const endSnapshot = (c: MssqlConnection, how: 'COMMIT' | 'ROLLBACK') =>
  c.run(`IF @@TRANCOUNT > 0 ${how} TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED`);

/**
 * The logs' entries in one SNAPSHOT transaction (ALLOW_SNAPSHOT_ISOLATION ON); undefined (no
 * transaction left open) when they are empty, unless `o.evenEmpty`. `reads` run on `c`, so in S.
 * The guards make TRUNCATE impossible: no table is ever copied whole.
 */
export async function openBatch(
  c: MssqlConnection,
  o: BatchOptions,
  reads: SnapshotReads,
): Promise<ChangeBatch | undefined> {
  await c.run('SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION');
  try {
    const [r] = await c.rows(maxIdsSql(o.store, o.logged));
    if (!r) throw new Error(`ferry's state store ${o.store} has no marker: it was not created by ferry`);
    const max = new Map(o.logged.map((l, j) => [l.index, r[`m${j}`] as string | null]));
    const changed = o.logged.filter((l) => max.get(l.index) != null);
    if (!changed.length && !o.evenEmpty) {
      await endSnapshot(c, 'COMMIT');
      return undefined;
    }
    const summary: LogSummary[] = changed.map((l) => ({
      tbl: tableKey(l.table),
      truncated: false,
      keyed: true,
    }));
    const byKey = new Map(changed.map((l) => [tableKey(l.table), l]));
    const keys = () =>
      Readable.from(
        (async function* () {
          // Each log's query starts when the one before it has been read to the end.
          for (const l of changed) {
            const tbl = tableKey(l.table);
            const key = keyColumns(l.table);
            yield* streamRows(c, keysSql(o.store, l, max.get(l.index)!, o.codec), (values) =>
              keyRow(
                tbl,
                values.map((v, j) => {
                  const text = o.codec.canonicalText(
                    v,
                    key[j]!.info,
                    { table: tbl, column: key[j]!.name },
                    o.conversion,
                  );
                  if (text === null) throw new Error(`internal: a logged key of ${tbl} is NULL`);
                  return text;
                }),
              ),
            );
          }
        })(),
        { objectMode: false },
      );
    const encoded = (t: Table, schema: string, sql: string) =>
      readRows(c, sql, t, schema, copiedColumns(t), { name: tableKey(t), conversion: o.conversion });
    return {
      summary,
      reads,
      keys: (consume) => consume(keys()),
      rows: (t, _schema, _skip, consume) => {
        const l = byKey.get(tableKey(t));
        if (!l) throw new Error(`internal: table ${tableKey(t)} has no entries in this batch`);
        return consume(encoded(t, l.schema, rowsSql(o.store, l, max.get(l.index)!, o.codec)));
      },
      whole: (t, schema, consume) => consume(encoded(t, schema, wholeSql(t, schema, o.codec))),
      forget: async () => {
        let n = 0;
        for (const l of changed) n += await c.run(forgetSql(o.store, l, max.get(l.index)!));
        return n;
      },
      commit: async () => void (await endSnapshot(c, 'COMMIT')),
      rollback: async () => void (await endSnapshot(c, 'ROLLBACK')),
    };
  } catch (err) {
    await endSnapshot(c, 'ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Entries waiting and the age of the oldest; READPAST: entries of open transactions are not waited for. */
export function lagSql(store: string, logged: readonly Logged[]): string {
  const parts = logged.map(
    (l) =>
      `SELECT COUNT_BIG(*) AS n, MIN([at]) AS m FROM ${mssqlQualified(store, logTable(l.index))} WITH (READPAST)`,
  );
  return `SELECT CAST(SUM(n) AS varchar(20)) AS n, CAST(DATEDIFF_BIG(millisecond, MIN(m), SYSUTCDATETIME()) AS varchar(20)) AS age
     FROM (${parts.join(' UNION ALL ')}) AS x`;
}

export async function lag(c: MssqlConnection, store: string, logged: readonly Logged[]): Promise<Lag> {
  if (!logged.length) return { pending: 0, oldestSeconds: 0 };
  const [r] = await c.rows(lagSql(store, logged));
  return {
    pending: Number(r?.['n'] ?? 0),
    oldestSeconds: Math.max(0, Number(r?.['age'] ?? 0) / 1000),
  };
}

/** The columns of the tables as sys.columns has them now, in column order. */
export function columnsNowSql(catalog: Catalog, tables: readonly Table[]): string {
  return `SELECT v.k AS tbl, c.name AS name,
       TYPE_NAME(CASE WHEN c.system_type_id = 240 THEN c.user_type_id ELSE c.system_type_id END) AS ty,
       CAST(c.max_length AS int) AS len, CAST(c.precision AS int) AS p, CAST(c.scale AS int) AS s,
       c.collation_name AS co
     FROM ${tableIdsSql(catalog, tables)} AS v(k, id) JOIN sys.columns AS c ON c.object_id = v.id
    ORDER BY v.k, c.column_id`;
}

export interface ColumnNow {
  tbl: string;
  name: string;
  ty: string;
  len: number;
  p: number;
  s: number;
  co: string | null;
}

const describe = (name: string, type: MssqlType) => `${name} ${columnTypeSql(type)}`;

/** The first table whose columns (names, types, sizes, collations) differ from the catalog's, as a message. Pure. */
export function driftOf(tables: readonly Table[], now: readonly ColumnNow[]): string | undefined {
  for (const t of tables) {
    const found = now
      .filter((r) => r.tbl === tableKey(t))
      .map((r) =>
        describe(r.name, {
          name: r.ty,
          alias: null,
          maxLength: r.len,
          precision: r.p,
          scale: r.s,
          collation: r.co,
          codePage: null,
        }),
      );
    const expected = t.columns.map((x) => describe(x.name, mssqlInfo(x).type));
    if (found.join(', ') !== expected.join(', '))
      return `the schema of table ${tableKey(t)} changed while its changes were being recorded (${found.length ? `columns now: ${found.join(', ')}` : 'table dropped'}); the replay cannot continue: fall back (ferry fallback) and start again`;
  }
  return undefined;
}

export async function schemaDrift(
  c: MssqlConnection,
  catalog: Catalog,
  tables: readonly string[],
): Promise<string | undefined> {
  const chosen = catalog.tables.filter((t) => tables.includes(tableKey(t)));
  if (!chosen.length) return undefined;
  const now = await c.rows(columnsNowSql(catalog, chosen));
  return driftOf(chosen, now as unknown as ColumnNow[]);
}
