// The source catalog as ferry sees it: everything needed to rebuild the selected tables on the target
// and to move their rows. Definitions are captured as the source server renders them
// (pg_get_indexdef, pg_get_constraintdef, pg_get_expr, format_type) while `search_path` holds only
// the source schema, so they are unqualified and replay into any target schema.

export interface Column {
  name: string;
  /** format_type(atttypid, atttypmod): the exact type, e.g. `numeric(12,2)`, `character varying(40)`. */
  type: string;
  /** The type's oid on the source; built-in types (< 16384) may travel in binary COPY. */
  typeOid: number;
  /** True when the type (or an array's element type) is a built-in one. */
  builtinType: boolean;
  notNull: boolean;
  /** Default expression, unless the column is identity or generated. */
  default: string | null;
  /** 'a' GENERATED ALWAYS, 'd' BY DEFAULT, '' none. */
  identity: '' | 'a' | 'd';
  /** Expression of a STORED generated column: such columns are never copied, the target computes them. */
  generated: string | null;
  /** True when the column's type is collatable and has a non-default collation: its name (quoted). */
  collation: string | null;
}

export interface Constraint {
  name: string;
  kind: 'p' | 'u' | 'c' | 'f' | 'x';
  /** pg_get_constraintdef output, e.g. `PRIMARY KEY (id)`, `CHECK ((qty > 0))`. */
  definition: string;
  /** For FKs: the referenced table's name (in the same schema) so the planner can order them. */
  references: string | null;
}

export interface Index {
  name: string;
  /** pg_get_indexdef output: `CREATE [UNIQUE] INDEX name ON tbl USING ...` (unqualified). */
  definition: string;
}

export interface Sequence {
  name: string;
  /** CREATE SEQUENCE options rendered for the target (AS type, INCREMENT, MINVALUE, ...). */
  options: string;
  lastValue: string | null;
  isCalled: boolean;
  /** The column that owns it (serial), as `table.column`, or null. */
  ownedBy: { table: string; column: string } | null;
}

export interface Table {
  name: string;
  columns: Column[];
  /** Primary key columns, else the columns of a unique index over NOT NULL columns, else empty. */
  key: string[];
  /** True when `key` is the primary key (not a unique-not-null substitute). */
  keyIsPrimary: boolean;
  constraints: Constraint[];
  /** Indexes that do not back a constraint (those come with their constraint). */
  indexes: Index[];
  /** Identity columns' sequences: the state to restore after the load. */
  identitySequences: { column: string; lastValue: string | null; isCalled: boolean }[];
  rowEstimate: number;
  /** pg_total_relation_size, bytes. */
  totalBytes: number;
  /** pg_relation_size of the heap alone, bytes: the part that is copied. */
  heapBytes: number;
  /** Heap pages, for ctid range splitting of tables without a usable key. */
  pages: number;
}

/** A user-defined type the selected tables use and the target must have first. */
export interface UserType {
  name: string;
  /** Full CREATE statement, unqualified: CREATE TYPE ... AS ENUM (...), CREATE DOMAIN ..., etc. */
  definition: string;
}

export interface Catalog {
  schema: string;
  serverVersion: number;
  types: UserType[];
  /** Sequences not owned by identity columns (serial and free-standing), in the schema. */
  sequences: Sequence[];
  tables: Table[];
}
