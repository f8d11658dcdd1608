// The type map of a SQL Server source: a column's type (sys.columns and sys.types, alias types
// resolved) becomes a PostgreSQL type and the Encoding its values travel by (encode.ts). Pure. The
// defaults are the README's table ("SQL Server sources: type map"); spec.typeMap rules override them
// per table, column or source type, as for MySQL. Every conversion is exact or refused: a target
// type that cannot hold every value of the source type is refused here, a value the default target
// cannot hold (a 100-ns digit) when it is read, naming its table and column.
import picomatch from 'picomatch';
import type { TypeRule } from '../../api/migration.ts';
import { normalizeTargetType, targetFamily, type Where } from '../mysql/types.ts';
import type { Encoding, MssqlType } from './column.ts';

export type { Where } from '../mysql/types.ts';

export interface Mapping {
  /** The PostgreSQL type, as format_type renders it (`integer`, `numeric(19,4)`, `character varying(40)`). */
  type: string;
  encoding: Encoding;
  /** What a reader should know about this mapping (the rule applied). */
  note?: string;
}

export class TypeMapError extends Error {
  override name = 'TypeMapError';
}

/** Types ferry moves only through a conversion a spec.typeMap rule names (README: SQL Server sources). */
const CONVERTED = new Set(['hierarchyid', 'geography', 'geometry', 'sql_variant']);

const CHAR_SOURCES = new Set(['char', 'varchar', 'text', 'nchar', 'nvarchar', 'ntext', 'sysname']);
const UNICODE_SOURCES = new Set(['nchar', 'nvarchar', 'ntext', 'sysname']);
const BINARY_SOURCES = new Set(['binary', 'varbinary', 'image', 'timestamp', 'rowversion']);
/** The integer types' ranges. */
const INT_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  bit: [0n, 1n],
  tinyint: [0n, 255n],
  smallint: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};
const PG_INT_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  smallint: INT_RANGE['smallint']!,
  integer: INT_RANGE['int']!,
  bigint: INT_RANGE['bigint']!,
};
/** Whether the range r fits in a PostgreSQL integer type. */
const fitsInt = (type: string, r: readonly [bigint, bigint]) =>
  PG_INT_RANGE[type] !== undefined && r[0] >= PG_INT_RANGE[type][0] && r[1] <= PG_INT_RANGE[type][1];
const digitsRange = (digits: number): [bigint, bigint] => [
  -(10n ** BigInt(digits) - 1n),
  10n ** BigInt(digits) - 1n,
];
/** Fractional-second digits of the date and time types (datetime's 1/300 s as SQL Server shows it: 3). */
const FIXED_DIGITS: Readonly<Record<string, number>> = { datetime: 3, smalldatetime: 0, date: 0 };

const isMax = (t: MssqlType) => t.maxLength === -1;

/** Characters of a character type's declared length (nchar/nvarchar: bytes / 2). */
const charLength = (t: MssqlType) =>
  UNICODE_SOURCES.has(t.name.toLowerCase()) ? t.maxLength / 2 : t.maxLength;

/** The source type as rules name it: `decimal(10,2)`, `nvarchar(40)`, `nvarchar(max)`, `datetime2(7)`, `int`. */
export function sourceTypeText(t: MssqlType): string {
  const name = t.name.toLowerCase();
  if (CHAR_SOURCES.has(name) || name === 'binary' || name === 'varbinary') {
    if (name === 'text' || name === 'ntext') return name;
    return `${name}(${isMax(t) ? 'max' : charLength(t)})`;
  }
  if (name === 'decimal' || name === 'numeric') return `${name}(${t.precision},${t.scale})`;
  if (name === 'time' || name === 'datetime2' || name === 'datetimeoffset') return `${name}(${t.scale})`;
  return name;
}

const normalizeSource = (s: string) => s.trim().toLowerCase().replace(/\s+/g, '');

/** The first rule matching the column: `sourceType` names the whole type, its name alone, or its alias type. */
export function matchRule(rules: readonly TypeRule[], at: Where, t: MssqlType): TypeRule | undefined {
  const whole = sourceTypeText(t);
  const names = [t.name.toLowerCase(), ...(t.alias ? [t.alias, t.alias.replace(/^.*\./, '')] : [])].map(
    normalizeSource,
  );
  return rules.find(
    (r) =>
      (r.table === undefined || picomatch.isMatch(at.table, r.table)) &&
      (r.column === undefined || picomatch.isMatch(at.column, r.column)) &&
      (r.sourceType === undefined ||
        normalizeSource(r.sourceType) === whole ||
        names.includes(normalizeSource(r.sourceType))),
  );
}

/** Fractional-second digits a time, datetime or datetimeoffset source keeps (up to 7). */
function fractionDigits(t: MssqlType): number {
  return FIXED_DIGITS[t.name.toLowerCase()] ?? t.scale;
}

/** The default target type of a source type. */
function defaultTarget(t: MssqlType): string {
  const name = t.name.toLowerCase();
  const p = Math.min(fractionDigits(t), 6);
  switch (name) {
    case 'bit':
      return 'boolean';
    case 'tinyint':
    case 'smallint':
      return 'smallint';
    case 'int':
      return 'integer';
    case 'bigint':
      return 'bigint';
    case 'decimal':
    case 'numeric':
      return `numeric(${t.precision},${t.scale})`;
    case 'money':
      return 'numeric(19,4)';
    case 'smallmoney':
      return 'numeric(10,4)';
    case 'float':
      return 'double precision';
    case 'real':
      return 'real';
    case 'date':
      return 'date';
    case 'time':
      return `time(${p}) without time zone`;
    case 'datetime':
    case 'smalldatetime':
    case 'datetime2':
      return `timestamp(${p}) without time zone`;
    case 'datetimeoffset':
      return `timestamp(${p}) with time zone`;
    case 'uniqueidentifier':
      return 'uuid';
    case 'xml':
      return 'xml';
  }
  if (CHAR_SOURCES.has(name))
    return isMax(t) || name === 'text' || name === 'ntext' ? 'text' : `character varying(${charLength(t)})`;
  if (BINARY_SOURCES.has(name)) return 'bytea';
  if (CONVERTED.has(name))
    throw new TypeMapError(
      `type ${name} is not supported as it is: a spec.typeMap rule can convert it (to text${name === 'sql_variant' ? '' : ' or bytea'}; README: SQL Server sources)`,
    );
  throw new TypeMapError(
    `type ${t.alias ?? name} is not supported (a CLR user type?): a spec.typeMap rule can convert it to text or bytea`,
  );
}

/** `numeric(P,S)` as [P, S]; `numeric` as undefined (any value). */
function numericArgs(type: string): [number, number] | undefined {
  const m = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(type);
  return m ? [Number(m[1]), Number(m[2] ?? '0')] : undefined;
}

/** Fractional-second digits of a PostgreSQL time or timestamp type (6 when not given). */
const targetDigits = (type: string) => Number(/\((\d+)\)/.exec(type)?.[1] ?? '6');

/** The family of a normalized target type, xml and the text types among them. */
function familyOf(type: string): string {
  if (type === 'xml') return 'xml';
  if (/^character\(/.test(type) || type === 'character') return 'character';
  return targetFamily(type);
}

/**
 * The mapping of one column: its default, or the first matching rule's target type. Throws
 * TypeMapError for a type ferry cannot move or a rule it cannot honour exactly; the message names
 * neither table nor column (the caller does).
 */
export function mapColumn(t: MssqlType, at: Where, rules: readonly TypeRule[] = []): Mapping {
  const rule = matchRule(rules, at, t);
  const type = rule ? normalizeTargetType(rule.targetType) : defaultTarget(t);
  const encoding = encodingFor(t, type);
  return rule
    ? { type, encoding, note: `type map rule: ${sourceTypeText(t)} → ${type}` }
    : { type, encoding };
}

/** How values of source type t become the text of target type `type`; throws where they cannot exactly. */
function encodingFor(t: MssqlType, type: string): Encoding {
  const name = t.name.toLowerCase();
  const source = sourceTypeText(t);
  const family = familyOf(type);
  const refuse = (why = ''): never => {
    throw new TypeMapError(`${source} cannot be converted to ${type} exactly${why}`);
  };
  // Any value to text: the text of its default type, a conversion's text for the converted types.
  if (family === 'text') return 'text';
  if (family === 'character')
    refuse(': character(n) pads its values with blanks on output (use character varying)');
  const range = INT_RANGE[name];
  if (range) {
    const encoding = name === 'bigint' ? 'bigint' : 'integer';
    if (name === 'bit' && family === 'boolean') return 'boolean';
    if (fitsInt(type, range)) return encoding;
    const args = family === 'numeric' ? numericArgs(type) : undefined;
    // numeric(P,S) prints S decimals: only S = 0 writes back the integer's own text.
    if (family === 'numeric' && (!args || (args[1] === 0 && 10n ** BigInt(args[0]) > range[1])))
      return encoding;
    return refuse();
  }
  if (name === 'decimal' || name === 'numeric' || name === 'money' || name === 'smallmoney') {
    const [p, s] = name === 'money' ? [19, 4] : name === 'smallmoney' ? [10, 4] : [t.precision, t.scale];
    const encoding = name.endsWith('money') ? 'money' : 'decimal';
    if (family === 'numeric') {
      const args = numericArgs(type);
      if (!args || (args[1] === s && args[0] >= p)) return encoding;
      // numeric(P,S) prints S decimals, so another scale would not write back the source's digits.
      return refuse(args[1] === s ? ': too few digits' : `: its scale must be the source's (${s})`);
    }
    if (s === 0 && fitsInt(type, digitsRange(p))) return encoding;
    return refuse();
  }
  if (name === 'float' || name === 'real') {
    if (type === 'double precision') return 'float8';
    if (type === 'real' && name === 'real') return 'float4';
    return refuse();
  }
  if (['date', 'time', 'datetime', 'smalldatetime', 'datetime2', 'datetimeoffset'].includes(name)) {
    const digits = Math.min(fractionDigits(t), 6);
    const wanted: Record<string, string> = { time: 'time', datetimeoffset: 'timestamptz' };
    const target = wanted[name] ?? 'timestamp';
    if (name === 'date' && family === 'date') return 'date';
    if (name === 'date' && family === 'timestamp') return 'timestamp';
    if (family !== target || name === 'date' || (target === 'time' && type.includes('with time zone')))
      return refuse();
    if (targetDigits(type) < digits)
      return refuse(`: it keeps ${targetDigits(type)} fractional digits, the source ${fractionDigits(t)}`);
    return target as Encoding;
  }
  if (CHAR_SOURCES.has(name)) {
    if (family === 'xml') return 'xml';
    if (family === 'uuid') return 'uuid';
    return refuse(': only text types, xml and uuid can hold text as it is');
  }
  if (BINARY_SOURCES.has(name) && family === 'bytea') return 'bytea';
  if (name === 'uniqueidentifier' && family === 'uuid') return 'uuid';
  if (name === 'xml' && family === 'xml') return 'xml';
  if (CONVERTED.has(name) || !isKnown(name)) {
    if (family === 'bytea' && name !== 'sql_variant') return 'bytea';
    return refuse(name === 'sql_variant' ? ': only text can hold any value' : ': only text or bytea');
  }
  return refuse();
}

/** The encoding of a type's default mapping; undefined for a type moved only by a rule's conversion. */
export function defaultEncoding(t: MssqlType): Encoding | undefined {
  const name = t.name.toLowerCase();
  return isKnown(name) ? encodingFor(t, defaultTarget(t)) : undefined;
}

const KNOWN = new Set([
  ...Object.keys(INT_RANGE),
  ...CHAR_SOURCES,
  ...BINARY_SOURCES,
  'decimal',
  'numeric',
  'money',
  'smallmoney',
  'float',
  'real',
  'date',
  'time',
  'datetime',
  'smalldatetime',
  'datetime2',
  'datetimeoffset',
  'uniqueidentifier',
  'xml',
]);

/** A system type the map knows (anything else is a CLR user type or new). */
const isKnown = (name: string): boolean => KNOWN.has(name.toLowerCase());

/** Whether a source type is read as characters (text encoding then means its own text). */
export const isCharSource = (t: MssqlType): boolean => CHAR_SOURCES.has(t.name.toLowerCase());
