// Catalog objects for unit tests: a column and a table with every field set to a plain default,
// overridden where a test cares.
import type { Column, Table } from '../../engine/catalog/types.ts';

export const column = (name: string, over: Partial<Column> = {}): Column => ({
  name,
  type: 'integer',
  typeOid: 23,
  builtinType: true,
  notNull: false,
  default: null,
  identity: '',
  generated: null,
  collation: null,
  ...over,
});

/** A table keyed by a NOT NULL integer `id`, empty. */
export const table = (name: string, over: Partial<Table> = {}): Table => ({
  name,
  columns: [column('id', { notNull: true })],
  key: ['id'],
  keyIsPrimary: true,
  constraints: [],
  indexes: [],
  identitySequences: [],
  rowEstimate: 0,
  totalBytes: 0,
  heapBytes: 0,
  pages: 0,
  ...over,
});
