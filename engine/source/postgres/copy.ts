// Reading a chunk of a PostgreSQL source table: COPY TO, whose rows the target's COPY FROM takes as they are.
import { rowsOf } from '../../catalog/relations.ts';
import { qualified, columnList } from '../../db/ident.ts';
import { rangePredicate } from '../../plan/chunks.ts';
import type { ChunkRead } from '../dialect.ts';

/**
 * `COPY t TO` reads t's own rows only (never a child's); the query form says so with rowsOf. COPY of a
 * table refuses generated columns: reading them (validation's digest) takes the query form too.
 */
export function copyOutSql(c: ChunkRead): string {
  const cols = columnList(c.columns);
  const predicate = rangePredicate(c.range);
  const generated = c.table.columns.some((x) => x.generated !== null && c.columns.includes(x.name));
  const what =
    predicate || generated
      ? `(SELECT ${cols} FROM ${rowsOf(c.schema, c.table)} ${predicate})`
      : `${qualified(c.schema, c.table.name)} (${cols})`;
  return `COPY ${what} TO STDOUT (FORMAT ${c.format})`;
}
