// The source catalog as ferry sees it: everything needed to rebuild the selected tables on the target
// and to move their rows. Definitions are captured as the source server renders them
// (pg_get_indexdef, pg_get_constraintdef, pg_get_expr, format_type) while `search_path` holds only
// the source schema, so they are unqualified and replay into any target schema.
// A migration of several schemas (spec.schemas) has one catalog: its tables, types and sequences carry
// their source `schema` (schemas.ts), each schema's definitions are captured under its own search_path,
// and references between the schemas are pointed at the target schemas at extraction (rename.ts).
// The catalog is stored as JSON in the shadow schema and read back on resume: fields added later are
// optional so that a catalog written by an older ferry still renders.
import type { SchemaObjects } from './objects-types.ts';

export interface Column {
  name: string;
  /** format_type(atttypid, atttypmod): the exact type, e.g. `numeric(12,2)`, `character varying(40)`. */
  type: string;
  /**
   * Multi-schema catalogs: the type as the target names it, when it lives in another migrated schema
   * that is renamed (`"billing_v2".money_t`); `type` stays as the source renders it.
   */
  targetType?: string;
  /** The type's oid on the source; built-in types (< 16384) may travel in binary COPY. */
  typeOid: number;
  /**
   * True when values may travel in binary COPY: a built-in type (or array of one) whose binary form
   * holds no server-specific oid. User types, composites and the reg* types are false.
   */
  builtinType: boolean;
  notNull: boolean;
  /** Default expression, unless the column is identity or generated. */
  default: string | null;
  /** 'a' GENERATED ALWAYS, 'd' BY DEFAULT, '' none. */
  identity: '' | 'a' | 'd';
  /** Expression of a generated column: such columns are never copied, the target computes them. */
  generated: string | null;
  /** True for a VIRTUAL generated column (PostgreSQL 18+); absent or false means STORED. */
  virtual?: boolean;
  /** The column's collation when it is not its type's default, as regcollation renders it (quoted). */
  collation: string | null;
}

export interface Constraint {
  name: string;
  kind: 'p' | 'u' | 'c' | 'f' | 'x';
  /** pg_get_constraintdef output, e.g. `PRIMARY KEY (id)`, `CHECK ((qty > 0))`. */
  definition: string;
  /**
   * For FKs: the referenced table's key (schemas.ts) when it is in a migrated schema: its name in a
   * single-schema catalog (null otherwise).
   */
  references: string | null;
}

export interface Index {
  name: string;
  /** pg_get_indexdef (pretty) output: `CREATE [UNIQUE] INDEX name ON tbl USING ...`, table unqualified. */
  definition: string;
}

export interface Sequence {
  /** Multi-schema catalogs: the source schema. */
  schema?: string;
  name: string;
  /** CREATE SEQUENCE options rendered for the target (AS type, INCREMENT, MINVALUE, ...). */
  options: string;
  lastValue: string | null;
  isCalled: boolean;
  /** The column that owns it (serial), as `table.column`, or null. */
  ownedBy: { table: string; column: string } | null;
}

export interface IdentitySequence {
  column: string;
  lastValue: string | null;
  isCalled: boolean;
  /** The sequence's name on the source, recreated under the same name. */
  sequence?: string;
  /** Identity sequence options (INCREMENT, MINVALUE, ...; no AS: that is the column's type). */
  options?: string;
}

export interface Table {
  /** Multi-schema catalogs: the source schema (a single-schema catalog's tables are `Catalog.schema`'s). */
  schema?: string;
  name: string;
  columns: Column[];
  /** Primary key columns, else the columns of a unique index over NOT NULL columns, else empty. */
  key: string[];
  /** True when `key` is the primary key (not a unique-not-null substitute). */
  keyIsPrimary: boolean;
  /** The constraint or index that enforces `key` (null when there is none), so it can be built first. */
  keyName?: string | null;
  constraints: Constraint[];
  /** Indexes that do not back a constraint (those come with their constraint). */
  indexes: Index[];
  /** Identity columns' sequences: their options, and the state to restore after the load. */
  identitySequences: IdentitySequence[];
  rowEstimate: number;
  /** pg_total_relation_size, bytes. */
  totalBytes: number;
  /** pg_relation_size of the heap alone, bytes: the part that is copied. */
  heapBytes: number;
  /** Heap pages, for ctid range splitting of tables without a usable key. */
  pages: number;
  /** A partitioned table: its partition key as pg_get_partkeydef renders it (`RANGE (placed_at)`). It holds no rows of its own. */
  partitionBy?: string;
  /** A partition: its parent (in the catalog) and its bound as pg_get_expr renders it (`FOR VALUES ...`, `DEFAULT`). */
  partitionOf?: { parent: string; bound: string };
  /** Inheritance parents (in the catalog), in order. */
  inherits?: string[];
}

/** A user-defined type the selected tables use and the target must have first. */
export interface UserType {
  /** Multi-schema catalogs: the source schema. */
  schema?: string;
  name: string;
  /** Full CREATE statement, unqualified: CREATE TYPE ... AS ENUM (...), CREATE DOMAIN ..., etc. */
  definition: string;
}

export interface Catalog {
  schema: string;
  serverVersion: number;
  /** Enums, domains, composite and range types, each after the types it depends on. */
  types: UserType[];
  /** Serial and free-standing sequences: not those of identity columns (see Table.identitySequences). */
  sequences: Sequence[];
  tables: Table[];
  /** Every object of the schema and what becomes of it; views, routines, triggers, grants... to recreate. */
  objects?: SchemaObjects;
  /** Multi-schema catalogs: the further source schemas in manifest order, each with its objects. */
  moreSchemas?: { schema: string; objects?: SchemaObjects }[];
  /** Multi-schema catalogs: the source schemas in the order their objects are created (rename.ts). */
  creationOrder?: string[];
  /** Definitions whose references to a renamed schema cannot be rewritten safely: Checks refuses them. */
  unrewritable?: string[];
  /** What the source holds that ferry cannot move (a type, a table engine, a name): Checks refuses each. */
  refused?: string[];
}
