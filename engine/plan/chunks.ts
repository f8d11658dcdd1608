// Cutting a table into chunks. Each chunk is copied, committed and validated on its own, so its
// definition must be stable (it is stored with the plan) and must cover every row exactly once:
// the first and last ranges are open-ended so rows outside the sampled bounds are never lost.
import { tableKey } from '../catalog/schemas.ts';
import { quoteIdent, quoteLiteral } from '../db/ident.ts';
import type { Column, Table } from '../catalog/types.ts';

export type Range =
  | {
      kind: 'key';
      column: string;
      type: string;
      lo: string | null;
      hi: string | null;
      /** The key orders the same on every server (no collation), so the range means the same on the target. */
      portable: boolean;
    }
  | { kind: 'ctid'; loPage: number | null; hiPage: number | null };

export interface Chunk {
  id: string;
  /** The table's key (catalog/schemas.ts). */
  table: string;
  /** null: the whole table. */
  range: Range | null;
  estRows: number;
  estBytes: number;
}

/** Key column types whose order does not depend on a collation: ranges mean the same on both servers. */
const SPLITTABLE_KEY_TYPES = new Set([
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'uuid',
  'date',
  'timestamp without time zone',
  'timestamp with time zone',
]);
const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

export type SplitBy =
  { kind: 'key'; column: string; type: string; integer: boolean; portable: boolean } | { kind: 'ctid' };

/**
 * How a table that must be split is cut: by its key's first column when that orders portably, else
 * by ctid. With `requireKey` (downtime-optimized: rows move while the bulk copy runs, and a row must
 * belong to exactly one chunk whatever snapshot copies it) always by key when there is one.
 */
export function splitBy(table: Table, requireKey = false): SplitBy {
  const first = table.key[0];
  const col = table.columns.find((c) => c.name === first);
  if (col) {
    const base = col.type.replace(/\(.*\)$/, '');
    const portable = SPLITTABLE_KEY_TYPES.has(base);
    if (portable || requireKey)
      return { kind: 'key', column: col.name, type: col.type, integer: INTEGER_TYPES.has(base), portable };
  }
  return { kind: 'ctid' };
}

export function chunkCount(table: Table, splitAboveBytes: number, chunkRows: number): number {
  if (table.heapBytes <= splitAboveBytes) return 1;
  return Math.max(2, Math.ceil(table.rowEstimate / chunkRows), Math.ceil(table.heapBytes / splitAboveBytes));
}

/** Evenly spaced integer boundaries strictly inside (min, max]: n chunks need n-1 of them. */
export function integerBoundaries(min: bigint, max: bigint, n: number): string[] {
  const out: string[] = [];
  const span = max - min + 1n;
  for (let i = 1; i < n; i++) {
    const b = min + (span * BigInt(i)) / BigInt(n);
    if (b > min && (out.length === 0 || b.toString() !== out[out.length - 1])) out.push(b.toString());
  }
  return out;
}

/** n-1 boundaries taken at even quantiles of an ordered sample, deduplicated. */
export function sampleBoundaries(sortedSample: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 1; i < n; i++) {
    const v = sortedSample[Math.floor((sortedSample.length * i) / n)];
    if (v !== undefined && v !== sortedSample[0] && v !== out[out.length - 1]) out.push(v);
  }
  return out;
}

export function ctidBoundaries(pages: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < n; i++) {
    const p = Math.floor((pages * i) / n);
    if (p > 0 && p !== out[out.length - 1]) out.push(p);
  }
  return out;
}

/** Chunks from boundaries: [-inf, b1), [b1, b2), ..., [bn-1, +inf). */
export function chunksFrom(table: Table, by: SplitBy, bounds: readonly (string | number)[]): Chunk[] {
  if (bounds.length === 0) return [wholeTable(table)];
  const n = bounds.length + 1;
  const edges = [null, ...bounds, null];
  return Array.from({ length: n }, (_, i) => {
    const lo = edges[i] ?? null;
    const hi = edges[i + 1] ?? null;
    const range: Range =
      by.kind === 'key'
        ? {
            kind: 'key',
            column: by.column,
            type: by.type,
            lo: lo === null ? null : String(lo),
            hi: hi === null ? null : String(hi),
            portable: by.portable,
          }
        : { kind: 'ctid', loPage: lo === null ? null : Number(lo), hiPage: hi === null ? null : Number(hi) };
    return {
      id: `${tableKey(table)}#${i + 1}/${n}`,
      table: tableKey(table),
      range,
      estRows: Math.ceil(table.rowEstimate / n),
      estBytes: Math.ceil(table.heapBytes / n),
    };
  });
}

export function wholeTable(table: Table): Chunk {
  return {
    id: tableKey(table),
    table: tableKey(table),
    range: null,
    estRows: table.rowEstimate,
    estBytes: table.heapBytes,
  };
}

/** The WHERE clause selecting a chunk's rows, or '' for the whole table. Bounds are untyped literals: the server reads them as the key's own type. */
export function rangePredicate(range: Range | null): string {
  if (range === null) return '';
  const parts: string[] = [];
  if (range.kind === 'key') {
    const col = quoteIdent(range.column);
    if (range.lo !== null) parts.push(`${col} >= ${quoteLiteral(range.lo)}`);
    if (range.hi !== null) parts.push(`${col} < ${quoteLiteral(range.hi)}`);
  } else {
    if (range.loPage !== null) parts.push(`ctid >= '(${range.loPage},0)'::tid`);
    if (range.hiPage !== null) parts.push(`ctid < '(${range.hiPage},0)'::tid`);
  }
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

/**
 * A key range's WHERE clause in a source's own SQL ('' for the whole table), for sources that have
 * key ranges only (no ctid): `quote` names the key column, `literal` writes a bound as a value of
 * the column's type.
 */
export function keyRangeWhere(
  table: Table,
  range: Range | null,
  source: string,
  quote: (name: string) => string,
  literal: (col: Column, value: string) => string,
): string {
  if (range === null) return '';
  if (range.kind !== 'key') throw new Error(`internal: a ${source} table has no ${range.kind} ranges`);
  const col = table.columns.find((c) => c.name === range.column);
  if (!col) throw new Error(`internal: no column ${range.column} in ${table.name}`);
  const k = quote(range.column);
  const parts = [
    ...(range.lo === null ? [] : [`${k} >= ${literal(col, range.lo)}`]),
    ...(range.hi === null ? [] : [`${k} < ${literal(col, range.hi)}`]),
  ];
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

export function describeRange(range: Range | null): string {
  if (range === null) return 'all rows';
  if (range.kind === 'key') return `${range.column} in [${range.lo ?? '-inf'}, ${range.hi ?? '+inf'})`;
  return `pages [${range.loPage ?? 0}, ${range.hiPage ?? 'end'})`;
}
