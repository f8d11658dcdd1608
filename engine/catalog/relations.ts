// What a table's place in a partition or inheritance tree means for moving its rows. Pure.
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
