// Validation: the same count and content checksum computed on both sides. The checksum is a sum
// of 64-bit slices of each row's md5: order-independent (no sort needed) yet sensitive to a lost,
// changed or duplicated row. Both sessions render values identically (see connect.ts: UTC,
// ISO dates, hex bytea), so the text of a row is the same on either server.
import type { Validation } from '../api/migration.ts';
import type { Catalog } from '../catalog/types.ts';
import { connect, type Client } from '../db/connect.ts';
import { columnList, qualified } from '../db/ident.ts';
import { describeRange, rangePredicate, type Chunk, type Range } from '../plan/chunks.ts';
import type { Plan } from '../plan/plan.ts';
import { runPool } from '../util/pool.ts';
import type { Context } from '../phases/context.ts';

export interface Unit {
  table: string;
  range: Range | null;
}

export interface Measure {
  rows: string;
  checksum: string | null;
}

export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly table: string;
  constructor(table: string, message: string) {
    super(message);
    this.table = table;
  }
}

/** Key-range chunks are validated one by one (a mismatch names its range); other tables as a whole. */
export function validationUnits(catalog: Catalog, plan: Plan | undefined): Unit[] {
  const byTable = new Map<string, Chunk[]>();
  for (const c of plan?.groups.flatMap((g) => g.chunks) ?? [])
    byTable.set(c.table, [...(byTable.get(c.table) ?? []), c]);
  return catalog.tables.flatMap((t) => {
    const chunks = byTable.get(t.name) ?? [];
    return chunks.length > 1 && chunks.every((c) => c.range?.kind === 'key')
      ? chunks.map((c) => ({ table: t.name, range: c.range }))
      : [{ table: t.name, range: null }];
  });
}

export function measureSql(
  schema: string,
  table: string,
  columns: string[],
  range: Range | null,
  how: Validation,
): string {
  const sum =
    how === 'Checksum'
      ? `coalesce(sum(('x' || substr(md5(ROW(${columnList(columns)})::text), 1, 16))::bit(64)::bigint), 0)::text`
      : 'NULL::text';
  return `SELECT count(*)::text AS rows, ${sum} AS checksum FROM ${qualified(schema, table)} ${rangePredicate(range)}`;
}

async function measure(c: Client, sql: string): Promise<Measure> {
  const { rows } = await c.query<Measure>(sql);
  return rows[0]!;
}

export async function validate(ctx: Context, catalog: Catalog, plan: Plan | undefined): Promise<number> {
  const how = ctx.settings.validation;
  if (how === 'None') return 0;
  const units = validationUnits(catalog, plan);
  const open = async () => ({
    src: await connect(ctx.source, 'validate'),
    dst: await connect(ctx.target, 'validate'),
  });
  await runPool(
    units,
    ctx.settings.parallelism,
    open,
    async (u, { src, dst }) => {
      const cols = catalog.tables.find((t) => t.name === u.table)!.columns.map((c) => c.name);
      const [a, b] = await Promise.all([
        measure(src, measureSql(catalog.schema, u.table, cols, u.range, how)),
        measure(dst, measureSql(ctx.settings.target.schema, u.table, cols, u.range, how)),
      ]);
      const where = `table ${u.table}${u.range ? `, ${describeRange(u.range)}` : ''}`;
      if (a.rows !== b.rows)
        throw new ValidationError(
          u.table,
          `validation failed: ${where}: source has ${a.rows} rows, target ${b.rows}`,
        );
      if (a.checksum !== b.checksum)
        throw new ValidationError(
          u.table,
          `validation failed: ${where}: same row count (${a.rows}) but the content checksums differ`,
        );
    },
    async ({ src, dst }) => {
      await Promise.all([src.end(), dst.end()]);
    },
  );
  ctx.log.info({ units: units.length, how }, 'target validated equal to source');
  return units.length;
}
