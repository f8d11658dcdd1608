// What a table's place in a partition or inheritance tree means for moving its rows. Pure.
import { siblingKey, tableKey } from './schemas.ts';
import { qualified } from '../db/ident.ts';
import type { Table } from './types.ts';

/** Tables with rows of their own: what is copied, chunked and validated (a partitioned table has none). */
export const holdsRows = (t: Table): boolean => t.partitionBy === undefined;

/**
 * Tables whose row changes are recorded and replayed by key: plain tables and the roots of partition
 * trees (a change in any partition is recorded, re-read and applied through the root, so a row that
 * moves between partitions comes out right). Inheritance children are tables of their own here.
 */
export const recordsRows = (t: Table): boolean => t.partitionOf === undefined;

/** FROM clause reading a table's own rows: ONLY for anything but a partitioned table (inheritance children are separate). */
export const rowsOf = (schema: string, t: Table): string =>
  t.partitionBy === undefined ? `ONLY ${qualified(schema, t.name)}` : qualified(schema, t.name);

/** The tables a table is made under: its partition parent, or its inheritance parents. */
export const parentsOf = (t: Table): string[] =>
  t.partitionOf ? [t.partitionOf.parent] : (t.inherits ?? []);

/**
 * The tables ordered so that each comes after its parents (partitioned tables before their partitions,
 * inheritance parents before their children), otherwise in the given order. Parents outside the list
 * are ignored: the selection rules keep trees whole.
 */
export function parentsFirst<T extends Table>(tables: readonly T[]): T[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const out: T[] = [];
  const placed = new Set<string>();
  const place = (t: T, path: Set<string>) => {
    if (placed.has(t.name)) return;
    if (path.has(t.name)) throw new Error(`internal: inheritance cycle through table ${t.name}`);
    path.add(t.name);
    for (const p of parentsOf(t)) {
      const parent = byName.get(p);
      if (parent) place(parent, path);
    }
    placed.add(t.name);
    out.push(t);
  };
  for (const t of tables) place(t, new Set());
  return out;
}

/** The key (schemas.ts) of the root of a table's partition tree (the table itself when it is no partition). */
export function partitionRoot(tables: readonly Table[], key: string): string {
  const t = tables.find((x) => tableKey(x) === key);
  const parent = t?.partitionOf?.parent;
  return parent === undefined ? key : partitionRoot(tables, siblingKey(t!, parent));
}
