// Where a PostgreSQL source table is cut into chunks: evenly between its key's bounds (integers), at
// quantiles of a sample of the key (other portable types), or by heap pages (ctid).
import { rowsOf } from '../../catalog/relations.ts';
import type { Table } from '../../catalog/types.ts';
import type { Client } from '../../db/connect.ts';
import { quoteIdent } from '../../db/ident.ts';
import { ctidBoundaries, integerBoundaries, sampleBoundaries, type SplitBy } from '../../plan/chunks.ts';

const PAGE = 8192;
const SAMPLE_ROWS = 20_000;

export async function boundaries(
  src: Client,
  schema: string,
  table: Table,
  by: SplitBy,
  n: number,
): Promise<(string | number)[]> {
  if (by.kind === 'ctid') return ctidBoundaries(Math.ceil(table.heapBytes / PAGE), n);
  const col = quoteIdent(by.column);
  const from = rowsOf(schema, table);
  if (by.integer) {
    const { rows } = await src.query<{ lo: string | null; hi: string | null }>(
      `SELECT min(${col})::text AS lo, max(${col})::text AS hi FROM ${from}`,
    );
    const { lo, hi } = rows[0]!;
    return lo === null || hi === null ? [] : integerBoundaries(BigInt(lo), BigInt(hi), n);
  }
  const percent = Math.min(100, Math.max(0.01, (100 * SAMPLE_ROWS) / Math.max(table.rowEstimate, 1)));
  const { rows } = await src.query<{ k: string }>(
    `SELECT ${col}::text AS k FROM ${from} TABLESAMPLE SYSTEM (${percent.toFixed(4)}) ORDER BY ${col}`,
  );
  return sampleBoundaries(
    rows.map((r) => r.k),
    n,
  );
}
