// The source side of the replay on MySQL/MariaDB (uptime/replay.ts applies it on the target). A batch
// is every entry of the log tables visible in one consistent snapshot S, and the rows of the logged
// keys are read in S. InnoDB's DELETE would see entries committed after S too, so the batch forgets
// exactly those S showed: their ids, as runs of consecutive ids (an entry of a transaction still open
// at S leaves a gap between runs), deleted once the target has committed, in a short READ COMMITTED
// transaction of its own (no gap locks that would stall the application's next entries).
import { Readable } from 'node:stream';
import type { Connection, RowDataPacket } from 'mysql2';
import type { Conversion } from '../../api/settings.ts';
import { tableKey } from '../../catalog/schemas.ts';
import type { Table } from '../../catalog/types.ts';
import { copiedColumns, copyFormat } from '../../transfer/table-copy.ts';
import type { ChangeBatch, Lag, LogSummary, SnapshotReads } from '../dialect.ts';
import { rows, run, text } from './connect.ts';
import { keyRow } from '../key-row.ts';
import { keyEquals, keyText } from './keys.ts';
import { chunkSql, mysqlIdent, readRows } from './read.ts';
import { onLoss } from './session-loss.ts';
import { logKey, logTable } from './record.ts';
import { mysqlQualified } from './store.ts';

/** A table whose changes are logged, and its log's position. */
export interface Logged {
  table: Table;
  index: number;
}

/** [first, last] ids, inclusive, as decimal strings. */
type Run = [string, string];

/** Sorted ids as runs of consecutive values. Pure. */
export function idRuns(ids: readonly bigint[]): Run[] {
  const out: Run[] = [];
  let start: bigint | undefined;
  let prev: bigint | undefined;
  for (const id of ids) {
    if (prev !== undefined && id === prev + 1n) {
      prev = id;
      continue;
    }
    if (start !== undefined) out.push([start.toString(), prev!.toString()]);
    start = prev = id;
  }
  if (start !== undefined) out.push([start.toString(), prev!.toString()]);
  return out;
}

/** The runs of ids the session's snapshot shows in a log table. */
async function visibleRuns(c: Connection, store: string, index: number): Promise<Run[]> {
  const log = mysqlQualified(store, logTable(index));
  const [r] = await rows(
    c,
    `SELECT CAST(COUNT(*) AS CHAR) AS n, CAST(MIN(id) AS CHAR) AS lo, CAST(MAX(id) AS CHAR) AS hi FROM ${log}`,
  );
  const n = BigInt(r!['n']!);
  if (n === 0n) return [];
  if (BigInt(r!['hi']!) - BigInt(r!['lo']!) + 1n === n) return [[r!['lo']!, r!['hi']!]];
  const ids = await rows(c, `SELECT CAST(id AS CHAR) AS id FROM ${log} ORDER BY id`);
  return idRuns(ids.map((x) => BigInt(x['id']!)));
}

const count = (runs: readonly Run[]) =>
  runs.reduce((a, [lo, hi]) => a + Number(BigInt(hi) - BigInt(lo) + 1n), 0);

/** The entries of `runs` per log table, gone (a transaction of its own, READ COMMITTED: no gap locks). */
export async function forgetRuns(
  c: Connection,
  store: string,
  runs: ReadonlyMap<number, Run[]>,
): Promise<void> {
  if (![...runs.values()].some((r) => r.length)) return;
  await run(c, 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await run(c, 'START TRANSACTION');
  try {
    for (const [index, list] of runs)
      for (const [lo, hi] of list)
        await run(
          c,
          `DELETE FROM ${mysqlQualified(store, logTable(index))} WHERE id BETWEEN ${lo} AND ${hi}`,
        );
    await run(c, 'COMMIT');
  } catch (err) {
    await run(c, 'ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The runs every log table shows in the session's snapshot (an open consistent-snapshot transaction). */
export async function snapshotRuns(
  c: Connection,
  store: string,
  logged: readonly Logged[],
): Promise<Map<number, Run[]>> {
  const out = new Map<number, Run[]>();
  for (const l of logged) out.set(l.index, await visibleRuns(c, store, l.index));
  return out;
}

/** Streams a query's rows (as texts) through `line`, as bytes. */
function lines(c: Connection, sql: string, line: (row: (string | null)[]) => string): Readable {
  const rowsOf = c.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 256 });
  rowsOf.once(
    'close',
    onLoss(c, (e) => rowsOf.destroy(e)),
  );
  return Readable.from(
    (async function* () {
      for await (const row of rowsOf as AsyncIterable<unknown[]>) yield Buffer.from(line(row.map(text)));
    })(),
    { objectMode: false },
  );
}

export interface BatchOptions {
  store: string;
  database: string;
  logged: readonly Logged[];
  conversion: Conversion;
  /** Open the snapshot even when the logs are empty. */
  evenEmpty: boolean;
  /** Tables emptied or rebuilt (TRUNCATE: no trigger fires) since the last batch: copied whole. */
  truncated: ReadonlySet<string>;
}

/**
 * The logs' entries in one consistent snapshot; undefined (no transaction left open) when they are
 * empty, unless `o.evenEmpty`. `reads` run on `c`, so in the snapshot.
 */
export async function openBatch(
  c: Connection,
  o: BatchOptions,
  reads: SnapshotReads,
): Promise<ChangeBatch | undefined> {
  await run(c, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  try {
    const runs = await snapshotRuns(c, o.store, o.logged);
    const changed = o.logged.filter((l) => runs.get(l.index)!.length || o.truncated.has(tableKey(l.table)));
    if (!changed.length && !o.evenEmpty) {
      await run(c, 'COMMIT');
      return undefined;
    }
    const indexOf = new Map(o.logged.map((l) => [tableKey(l.table), l.index]));
    const summary: LogSummary[] = changed.map((l) => ({
      tbl: tableKey(l.table),
      truncated: o.truncated.has(tableKey(l.table)),
      keyed: runs.get(l.index)!.length > 0,
    }));
    const keys = () => {
      // Each log's query starts when the one before it has been read to the end.
      const parts = changed.map((l) => () => {
        const cols = l.table.key.map((k, j) =>
          keyText(
            l.table.columns.find((x) => x.name === k)!,
            mysqlIdent(logKey(j)),
          ),
        );
        // Distinct by bytes: the key's collation may call 'a', 'A' and 'a ' one value, the target does not.
        const bytes = l.table.key.map((_, j) => `BINARY ${mysqlIdent(logKey(j))}`);
        return lines(
          c,
          `SELECT ${cols.join(', ')} FROM ${mysqlQualified(o.store, logTable(l.index))} GROUP BY ${bytes.join(', ')}`,
          (key) => keyRow(tableKey(l.table), key as string[]),
        );
      });
      return Readable.from(
        (async function* () {
          for (const p of parts) yield* p();
        })(),
        { objectMode: false },
      );
    };
    return {
      summary,
      reads,
      keys: (consume) => consume(keys()),
      rows: (t, _schema, _skip, consume) => {
        const index = indexOf.get(tableKey(t))!;
        const from = `${mysqlIdent(o.database)}.${mysqlIdent(t.name)}`;
        const match = t.key
          .map((k, j) =>
            keyEquals(
              t.columns.find((x) => x.name === k)!,
              `l.${mysqlIdent(logKey(j))}`,
              `${from}.${mysqlIdent(k)}`,
            ),
          )
          .join(' AND ');
        const columns = copiedColumns(t);
        const sql = `${chunkSql(o.database, t, columns, null)} WHERE EXISTS (SELECT 1 FROM ${mysqlQualified(o.store, logTable(index))} l WHERE ${match})`;
        return consume(
          readRows(c, sql, t, columns, {
            name: tableKey(t),
            conversion: o.conversion,
            format: copyFormat(t),
          }),
        );
      },
      whole: (t, _schema, consume) => {
        const columns = copiedColumns(t);
        return consume(
          readRows(c, chunkSql(o.database, t, columns, null), t, columns, {
            name: tableKey(t),
            conversion: o.conversion,
            format: copyFormat(t),
          }),
        );
      },
      forget: async () => count([...runs.values()].flat()),
      commit: async () => {
        await run(c, 'COMMIT');
        await forgetRuns(c, o.store, runs);
      },
      rollback: async () => void (await run(c, 'ROLLBACK')),
    };
  } catch (err) {
    await run(c, 'ROLLBACK').catch(() => {});
    throw err;
  }
}

export async function lag(c: Connection, store: string, logged: readonly Logged[]): Promise<Lag> {
  if (!logged.length) return { pending: 0, oldestSeconds: 0 };
  const parts = logged.map(
    (l) => `SELECT COUNT(*) AS n, MIN(at) AS m FROM ${mysqlQualified(store, logTable(l.index))}`,
  );
  const [r] = await rows(
    c,
    `SELECT CAST(SUM(n) AS CHAR) AS n, CAST(TIMESTAMPDIFF(MICROSECOND, MIN(m), NOW(6)) AS CHAR) AS age FROM (${parts.join(' UNION ALL ')}) x`,
  );
  return { pending: Number(r!['n'] ?? 0), oldestSeconds: Math.max(0, Number(r!['age'] ?? 0) / 1e6) };
}

/** The columns of `tables` as the catalog saw them, against information_schema; a message naming the first that changed. */
export async function schemaDrift(
  c: Connection,
  database: string,
  tables: readonly Table[],
  columnType: (t: Table, column: string) => string,
): Promise<string | undefined> {
  if (!tables.length) return undefined;
  const found = await run<RowDataPacket[]>(
    c,
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ty FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (${tables.map(() => '?').join(', ')}) ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [database, ...tables.map((t) => t.name)],
  );
  for (const t of tables) {
    const now = found.filter((r) => text(r['t']) === t.name).map((r) => `${text(r['c'])} ${text(r['ty'])}`);
    const expected = t.columns.map((x) => `${x.name} ${columnType(t, x.name)}`);
    if (now.join(', ') !== expected.join(', '))
      return `the schema of table ${tableKey(t)} changed while its changes were being recorded (${now.length ? `columns now: ${now.join(', ')}` : 'table dropped'}); the replay cannot continue: fall back (ferry fallback) and start again`;
  }
  return undefined;
}
