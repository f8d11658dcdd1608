// The type map: a MySQL/MariaDB column type (as information_schema.COLUMNS describes it) becomes a
// PostgreSQL type and the way its values are encoded into COPY text. Pure. The defaults are the
// README's table ("MySQL and MariaDB sources"); spec.typeMap rules override them per table, column
// or source type, like pgloader's CAST rules. Every conversion is exact or refused: a value the
// target type cannot hold is refused when it is read, naming its table, column and key.
import picomatch from 'picomatch';
import type { TypeRule } from '../../api/migration.ts';

/** A source column's type, from information_schema.COLUMNS. */
export interface MysqlType {
  /** DATA_TYPE: `int`, `varchar`, `enum`, ... */
  dataType: string;
  /** COLUMN_TYPE: `int(10) unsigned`, `enum('a','b')`, `datetime(6)`, ... */
  columnType: string;
  /** CHARACTER_SET_NAME of a character column, else null. */
  charset: string | null;
  /** A JSON column: MySQL's json type, or MariaDB's alias (longtext with CHECK (json_valid(col))). */
  json?: boolean;
}

/** How the bytes MySQL's text protocol sends for a value become COPY text. */
export type Encoding =
  /** Digits as sent (integers, decimals, year), optionally range-checked for a narrower target. */
  | { kind: 'number'; range?: readonly [string, string] }
  /** An integer 0/1 as a boolean; anything else is refused. */
  | { kind: 'boolean' }
  /** Read as CAST(col AS DOUBLE): MariaDB renders FLOAT with 6 digits, a double exactly. */
  | { kind: 'float' }
  /** bit(n) bytes as `bits` (n binary digits), a boolean (n = 1), or the integer they hold. */
  | { kind: 'bit'; width: number; as: 'bits' | 'boolean' | 'integer' }
  /** date, datetime, timestamp: zero dates per spec.conversion.zeroDates; `utc` appends +00. */
  | { kind: 'date'; utc: boolean }
  /** time: as an interval (−838:59:59..838:59:59), or a time of day (00:00:00..23:59:59, others refused). */
  | { kind: 'time'; as: 'interval' | 'time' }
  /** Characters in the column's charset, decoded to UTF-8; `members` lists an enum's allowed labels. */
  | { kind: 'text'; charset: Charset; members?: readonly string[] }
  /** A set's comma-separated members as a text[] literal. */
  | { kind: 'set'; charset: Charset }
  /** Bytes as bytea (`\x` hex), or as bare hex for a uuid target (binary(16) → uuid). */
  | { kind: 'bytes'; as: 'bytea' | 'hex' }
  /** A spatial value (MySQL's SRID then WKB) as PostGIS's EWKB, in hex. */
  | { kind: 'geometry' };

/** The character sets ferry decodes; MySQL's latin1 is Windows cp1252. */
export type Charset = 'utf8' | 'latin1' | 'ascii';

export interface Mapping {
  /** The PostgreSQL type, as format_type renders it (`integer`, `numeric(20,0)`, `character varying(40)`). */
  type: string;
  encoding: Encoding;
  /** Values allowed, as a CHECK on the target: an enum mapped to text, a set's members. */
  check?: { kind: 'in' | 'subset'; values: readonly string[] };
  /** Labels of the PostgreSQL enum type to create (the type's name is the catalog's to choose). */
  enumLabels?: readonly string[];
  /** What a reader should know about this mapping (a rule applied, a fallback taken). */
  note?: string;
}

export class TypeMapError extends Error {
  override name = 'TypeMapError';
}

/** Each spatial type's PostGIS subtype ('' for geometry: any). */
const SPATIAL: Readonly<Record<string, string>> = {
  geometry: '',
  point: 'Point',
  linestring: 'LineString',
  polygon: 'Polygon',
  multipoint: 'MultiPoint',
  multilinestring: 'MultiLineString',
  multipolygon: 'MultiPolygon',
  geometrycollection: 'GeometryCollection',
};

/**
 * Where PostGIS must be on the target for spatial columns: their type names it (the target's DDL
 * runs with only the target schema on its search_path), and Checks requires the extension there.
 */
export const POSTGIS_SCHEMA = 'public';

/** PostGIS's geometry type in its schema, with a type modifier (`(Point)`, `(Point,4326)`) or none. */
const postgisType = (modifier: string) => `${POSTGIS_SCHEMA}.geometry${modifier}`;

const CHARSETS: Readonly<Record<string, Charset>> = {
  utf8mb4: 'utf8',
  utf8mb3: 'utf8',
  utf8: 'utf8',
  latin1: 'latin1',
  ascii: 'ascii',
};

/** Integer ranges, as decimal strings (no JS numbers: they would not hold 64-bit bounds). */
const INT_RANGE: Readonly<Record<string, readonly [string, string]>> = {
  tinyint: ['-128', '127'],
  'tinyint unsigned': ['0', '255'],
  smallint: ['-32768', '32767'],
  'smallint unsigned': ['0', '65535'],
  mediumint: ['-8388608', '8388607'],
  'mediumint unsigned': ['0', '16777215'],
  int: ['-2147483648', '2147483647'],
  'int unsigned': ['0', '4294967295'],
  bigint: ['-9223372036854775808', '9223372036854775807'],
  'bigint unsigned': ['0', '18446744073709551615'],
  year: ['0', '2155'],
};
const PG_INT_RANGE: Readonly<Record<string, readonly [string, string]>> = {
  smallint: INT_RANGE['smallint']!,
  integer: INT_RANGE['int']!,
  bigint: INT_RANGE['bigint']!,
};

const DISPLAY_WIDTH = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);

/**
 * The source type as rules name it: lower case, single spaces, no display width (MySQL 8 drops it)
 * except tinyint(1), no zerofill (display only). `int(10) unsigned zerofill` → `int unsigned`.
 * Enum and set labels keep their case and spaces.
 */
export function normalizeSourceType(columnType: string): string {
  const m = /^\s*([a-z0-9_]+)\s*(\((?:[^()']|'(?:[^']|'')*')*\))?(.*)$/is.exec(columnType);
  if (!m) return columnType.trim().toLowerCase();
  const name = m[1]!.toLowerCase();
  const args =
    name === 'enum' || name === 'set' ? (m[2] ?? '') : (m[2] ?? '').toLowerCase().replace(/\s/g, '');
  const rest = m[3]!
    .toLowerCase()
    .replace(/\bzerofill\b/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const keep = name === 'tinyint' ? args === '(1)' : !DISPLAY_WIDTH.has(name);
  const head = keep ? name + args : name;
  return rest ? `${head} ${rest}` : head;
}

/** PostgreSQL type names as format_type renders them, so rules may say `int4`, `timestamptz`, `varchar(20)`. */
export function normalizeTargetType(type: string): string {
  const t = type.trim().replace(/\s+/g, ' ');
  const lower = t.toLowerCase();
  const m = /^([a-z][a-z0-9_ ]*?)\s*(\([^)]*\))?(\s+with(?:out)? time zone)?(\[\])?$/.exec(lower);
  if (!m) return t;
  const [, name, args = '', tz = '', array = ''] = m;
  const alias: Record<string, string> = {
    int: 'integer',
    int2: 'smallint',
    int4: 'integer',
    int8: 'bigint',
    bool: 'boolean',
    float4: 'real',
    float8: 'double precision',
    float: 'double precision',
    decimal: 'numeric',
    varchar: 'character varying',
    char: 'character',
    varbit: 'bit varying',
  };
  const base = alias[name!] ?? name!;
  if (base === 'timestamptz' || base === 'timetz')
    return `${base.slice(0, -2)}${args.replace(/\s/g, '')} with time zone${array}`;
  if (base === 'timestamp' || base === 'time')
    return `${base}${args.replace(/\s/g, '')}${tz ? tz.replace(/^\s+/, ' ') : ' without time zone'}${array}`;
  if (!KNOWN_TARGETS.has(base)) return t;
  return `${base}${args.replace(/\s/g, '')}${array}`;
}

const KNOWN_TARGETS = new Set([
  'boolean',
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
  'text',
  'character varying',
  'character',
  'citext',
  'bytea',
  'date',
  'interval',
  'bit',
  'bit varying',
  'json',
  'jsonb',
  'uuid',
  'inet',
]);

/** The family of a (normalized) target type: what its values must look like. */
export function targetFamily(type: string): string {
  const base = type.replace(/\(.*?\)/g, '');
  if (base.endsWith('[]')) return 'array';
  if (base === 'timestamp with time zone') return 'timestamptz';
  if (/^timestamp/.test(base)) return 'timestamp';
  if (/^time/.test(base)) return 'time';
  if (base === 'character varying' || base === 'character' || base === 'citext') return 'text';
  if (base === 'bit varying') return 'bit';
  if (base === 'real' || base === 'double precision') return 'float';
  return KNOWN_TARGETS.has(base) ? base : 'other';
}

/** Labels of `enum('a','it''s')` or members of `set(...)`, unquoted. */
export function parseLabels(columnType: string): string[] {
  const body = /^[a-z]+\((.*)\)/is.exec(columnType)?.[1] ?? '';
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (let m = re.exec(body); m; m = re.exec(body))
    out.push(m[1]!.replaceAll("''", "'").replaceAll('\\\\', '\\'));
  return out;
}

export interface Where {
  table: string;
  column: string;
}

/** The first rule matching the column, if any: every field the rule gives must match. */
export function matchRule(rules: readonly TypeRule[], at: Where, t: MysqlType): TypeRule | undefined {
  const normalized = normalizeSourceType(t.columnType);
  const name = t.json ? 'json' : t.dataType.toLowerCase();
  return rules.find(
    (r) =>
      (r.table === undefined || picomatch.isMatch(at.table, r.table)) &&
      (r.column === undefined || picomatch.isMatch(at.column, r.column)) &&
      (r.sourceType === undefined || sameSourceType(r.sourceType, normalized, name)),
  );
}

/** `sourceType` names the whole type (`tinyint(1)`, `bigint unsigned`) or only its name (`enum`, `datetime`). */
function sameSourceType(rule: string, normalized: string, name: string): boolean {
  const r = normalizeSourceType(rule);
  return r === normalized || (r === name && !/[( ]/.test(r));
}

/** The default target type of a source type. */
function defaultTarget(t: MysqlType, normalized: string): string {
  const name = t.dataType.toLowerCase();
  const args = /\(([^)]*)\)/.exec(normalized)?.[1];
  const unsigned = / unsigned\b/.test(normalized);
  if (t.json) return 'json';
  switch (name) {
    case 'tinyint':
      return normalized.startsWith('tinyint(1)') && !unsigned ? 'boolean' : 'smallint';
    case 'smallint':
      return unsigned ? 'integer' : 'smallint';
    case 'mediumint':
      return 'integer';
    case 'int':
    case 'integer':
      return unsigned ? 'bigint' : 'integer';
    case 'bigint':
      return unsigned ? 'numeric(20,0)' : 'bigint';
    case 'decimal':
    case 'numeric':
      return `numeric(${args ?? '10,0'})`;
    case 'float':
      return 'real';
    case 'double':
    case 'real':
      return 'double precision';
    case 'bit':
      return args === '1' ? 'boolean' : `bit(${args ?? '1'})`;
    case 'year':
      return 'smallint';
    case 'date':
      return 'date';
    case 'datetime':
      return `timestamp(${args ?? '0'}) without time zone`;
    case 'timestamp':
      return `timestamp(${args ?? '0'}) with time zone`;
    case 'time':
      return 'interval';
    case 'char':
      return `character(${args ?? '1'})`;
    case 'varchar':
      return `character varying(${args})`;
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return 'text';
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return 'bytea';
    case 'enum':
      return 'enum';
    case 'set':
      return 'text[]';
    case 'json':
      return 'json';
    case 'uuid':
      return 'uuid';
    case 'inet4':
    case 'inet6':
      return 'inet';
    default:
      throw new TypeMapError(`type ${t.columnType} is not supported`);
  }
}

const INTEGER_SOURCES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const TEXT_SOURCES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARY_SOURCES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

const PG_IDENT_MAX = 63;

/** Whether [a, b] ⊆ [c, d], decimal strings compared exactly. */
function within(a: readonly [string, string], b: readonly [string, string]): boolean {
  return BigInt(a[0]) >= BigInt(b[0]) && BigInt(a[1]) <= BigInt(b[1]);
}

function charsetOf(t: MysqlType, at: Where): Charset {
  const cs = t.charset?.toLowerCase();
  const c = cs === undefined ? 'utf8' : CHARSETS[cs];
  if (!c)
    throw new TypeMapError(
      `character set ${cs} is not supported (ferry converts utf8mb4, utf8mb3, latin1 and ascii to UTF-8): ` +
        `convert the column first, e.g. ALTER TABLE ${at.table} MODIFY ${at.column} ... CHARACTER SET utf8mb4`,
    );
  return c;
}

/**
 * The mapping of one column: its default, or the first matching rule's target type. Throws
 * TypeMapError for a type ferry cannot move or a rule it cannot honour exactly; the message names
 * neither table nor column (the caller does).
 */
export function mapColumn(t: MysqlType, at: Where, rules: readonly TypeRule[] = []): Mapping {
  const name = t.json ? 'json' : t.dataType.toLowerCase();
  const normalized = normalizeSourceType(t.columnType);
  const rule = matchRule(rules, at, t);
  if (Object.hasOwn(SPATIAL, name)) {
    // Only PostGIS holds a spatial value exactly (Checks requires it on the target). A rule may
    // narrow the type (`geometry(Point,4326)`: PostGIS then refuses a value of another SRID).
    // By default without an SRID: each value keeps its own.
    if (!rule) {
      const sub = SPATIAL[name]!;
      return { type: postgisType(sub ? `(${sub})` : ''), encoding: { kind: 'geometry' } };
    }
    const m = /^(?:\w+\.)?geometry(\([^)]*\))?$/i.exec(rule.targetType.replace(/\s+/g, ''));
    if (!m)
      throw new TypeMapError(
        `spatial type ${name} can only become a PostGIS geometry, not ${rule.targetType}`,
      );
    return {
      type: postgisType(m[1] ?? ''),
      encoding: { kind: 'geometry' },
      note: `type map rule: ${normalized} → ${rule.targetType}`,
    };
  }
  const type = rule ? normalizeTargetType(rule.targetType) : defaultTarget(t, normalized);
  const mapping = encode(t, name, normalized, type, at);
  const note = rule ? `type map rule: ${normalized} → ${type}` : mapping.note;
  return note === undefined ? mapping : { ...mapping, note };
}

function encode(t: MysqlType, name: string, normalized: string, type: string, at: Where): Mapping {
  const family = type === 'enum' ? 'enum' : targetFamily(type);
  const refuse = (): never => {
    throw new TypeMapError(`${normalized} cannot be converted to ${type} exactly`);
  };
  // Only exact conversions: no integer or decimal becomes a float, no double a real.
  if (INTEGER_SOURCES.has(name)) {
    const unsigned = / unsigned\b/.test(normalized) ? ' unsigned' : '';
    const source = INT_RANGE[name === 'year' ? 'year' : `${name === 'integer' ? 'int' : name}${unsigned}`]!;
    if (family === 'boolean') return { type, encoding: { kind: 'boolean' } };
    const target = PG_INT_RANGE[type];
    if (target)
      return {
        type,
        encoding: within(source, target) ? { kind: 'number' } : { kind: 'number', range: target },
      };
    if (family === 'numeric' || family === 'text' || family === 'other')
      return { type, encoding: { kind: 'number' } };
    return refuse();
  }
  if (name === 'decimal' || name === 'numeric') {
    if (family === 'numeric' || family === 'text' || family === 'other')
      return { type, encoding: { kind: 'number' } };
    return refuse();
  }
  if (name === 'float' || name === 'double' || name === 'real') {
    const single = name === 'float';
    if ((family === 'float' && (single || type === 'double precision')) || family === 'text')
      return { type, encoding: single ? { kind: 'float' } : { kind: 'number' } };
    return refuse();
  }
  if (name === 'bit') {
    const width = Number(/\((\d+)\)/.exec(normalized)?.[1] ?? '1');
    if (family === 'bit') return { type, encoding: { kind: 'bit', width, as: 'bits' } };
    if (family === 'boolean' && width === 1) return { type, encoding: { kind: 'bit', width, as: 'boolean' } };
    if (type === 'bigint' && width < 64) return { type, encoding: { kind: 'bit', width, as: 'integer' } };
    if (family === 'numeric') return { type, encoding: { kind: 'bit', width, as: 'integer' } };
    return refuse();
  }
  if (name === 'date' || name === 'datetime' || name === 'timestamp') {
    const ok: Record<string, string[]> = {
      date: ['date', 'timestamp', 'text'],
      datetime: ['timestamp', 'text'],
      timestamp: ['timestamptz', 'timestamp', 'text'],
    };
    if (!ok[name]!.includes(family)) return refuse();
    return { type, encoding: { kind: 'date', utc: name === 'timestamp' && family !== 'timestamp' } };
  }
  if (name === 'time') {
    if (family === 'interval' || family === 'text')
      return { type, encoding: { kind: 'time', as: 'interval' } };
    if (family === 'time' && !type.includes('with time zone'))
      return { type, encoding: { kind: 'time', as: 'time' } };
    return refuse();
  }
  if (name === 'enum') {
    const labels = parseLabels(t.columnType);
    const encoding: Encoding = { kind: 'text', charset: charsetOf(t, at), members: labels };
    if (family === 'enum') {
      if (labels.every((l) => Buffer.byteLength(l) <= PG_IDENT_MAX))
        return { type: 'enum', encoding, enumLabels: labels };
      return {
        type: 'text',
        encoding,
        check: { kind: 'in', values: labels },
        note: `a label is longer than PostgreSQL's ${PG_IDENT_MAX} bytes: text with a CHECK instead of an enum type`,
      };
    }
    if (family === 'text') return { type, encoding, check: { kind: 'in', values: labels } };
    return refuse();
  }
  if (name === 'set') {
    const members = parseLabels(t.columnType);
    if (type === 'text[]')
      return {
        type,
        encoding: { kind: 'set', charset: charsetOf(t, at) },
        check: { kind: 'subset', values: members },
      };
    if (family === 'text') return { type, encoding: { kind: 'text', charset: charsetOf(t, at) } };
    return refuse();
  }
  if (name === 'json') {
    // MySQL sends its json type as utf8mb4 text; MariaDB's is a utf8mb4 longtext.
    if (family === 'json' || family === 'text') return { type, encoding: { kind: 'text', charset: 'utf8' } };
    return refuse();
  }
  if (TEXT_SOURCES.has(name)) {
    if (t.charset?.toLowerCase() === 'binary') return encode(t, 'varbinary', normalized, type, at);
    if (['text', 'other', 'json', 'uuid', 'inet'].includes(family))
      return { type, encoding: { kind: 'text', charset: charsetOf(t, at) } };
    return refuse();
  }
  if (BINARY_SOURCES.has(name)) {
    if (family === 'bytea') return { type, encoding: { kind: 'bytes', as: 'bytea' } };
    if (family === 'uuid' && normalized === 'binary(16)')
      return { type, encoding: { kind: 'bytes', as: 'hex' } };
    if (family === 'text') return { type, encoding: { kind: 'text', charset: 'utf8' } };
    return refuse();
  }
  if (name === 'uuid' || name === 'inet4' || name === 'inet6') {
    if (family === 'uuid' || family === 'inet' || family === 'text')
      return { type, encoding: { kind: 'text', charset: 'ascii' } };
    return refuse();
  }
  return refuse();
}
