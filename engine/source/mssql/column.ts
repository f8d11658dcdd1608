// What a SQL Server column keeps in ferry's catalog beyond the common Column: its source type as
// sys.columns and sys.types describe it, and how its values travel (encode.ts). The catalog is
// stored as JSON in ferry's state, so this is plain data.
import type { Column } from '../../catalog/types.ts';

/** A column's type on the source, alias types resolved to their system type. */
export interface MssqlType {
  /** The system type's name as sys.types gives it: `int`, `nvarchar`, `datetime2`, `uniqueidentifier`. */
  name: string;
  /** The alias (user-defined) type the column was declared with, if any: `dbo.phone`. */
  alias: string | null;
  /** sys.columns.max_length: bytes (nchar/nvarchar: twice the characters); -1 for (max). */
  maxLength: number;
  precision: number;
  scale: number;
  /** The column's collation (character types), null otherwise. */
  collation: string | null;
  /** COLLATIONPROPERTY(collation, 'CodePage') for char/varchar/text: 65001 for a _UTF8 collation. */
  codePage: number | null;
}

/**
 * How a column's values are read and written as PostgreSQL COPY text (encode.ts): which T-SQL
 * expression selects them and which conversion of tedious' value gives the target's text.
 */
export type Encoding =
  | 'boolean'
  | 'integer'
  | 'bigint'
  | 'decimal'
  | 'float8'
  | 'float4'
  | 'money'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'text'
  | 'bytea'
  | 'uuid'
  | 'xml';

export interface MssqlColumnInfo {
  type: MssqlType;
  encoding: Encoding;
}

export type MssqlColumn = Column & { mssql: MssqlColumnInfo };

/** The SQL Server side of a catalog column (read, digest). */
export function mssqlInfo(c: Column): MssqlColumnInfo {
  const info = (c as Partial<MssqlColumn>).mssql;
  if (!info) throw new Error(`internal: column ${c.name} has no SQL Server type in the catalog`);
  return info;
}
