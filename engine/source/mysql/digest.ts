// The validation digest of a MySQL source chunk and of its PostgreSQL copy: the same count and
// content checksum computed on both servers. Every value is first rendered in one canonical text,
// the same on either side whatever the types (exact decimals as written, floats as their exact
// binary significand and exponent, timestamps in UTC with microseconds, times as microseconds, bytes as hex,
// text as UTF-8, spatial values as their SRID and stored WKB in hex); a row's canonical texts, each prefixed by its byte length (NULL as `-`), are
// hashed with md5; the checksum is the sums of the two 64-bit halves of every row's hash, exact and
// order-independent (no sort), so a lost, duplicated or changed row, and a single changed byte in
// any column of any row, changes it but for a 2^-64 chance. Pure: SQL text only.
import type { Validation, ZeroDates } from '../../api/migration.ts';
import { qualified, quoteIdent } from '../../db/ident.ts';
import type { Column, Table } from '../../catalog/types.ts';
import { rangePredicate as pgRangePredicate, type Range } from '../../plan/chunks.ts';
import { mysqlInfo } from './catalog.ts';
import { mysqlIdent, rangePredicate as mysqlRangePredicate } from './read.ts';
import { normalizeSourceType, POSTGIS_SCHEMA, targetFamily } from './types.ts';

/** A column's canonical text on each side. */
interface Canonical {
  mysql: string;
  postgres: string;
}

/**
 * A double's exact value as `<sign><binary exponent>:<integer significand>` (subnormals with exponent
 * -1023), zero as `0`. Not its shortest decimal text: MariaDB and PostgreSQL choose different
 * shortest digits for doubles halfway between two decimals (both exact, the digits differ).
 * PostgreSQL reads the bits (float8send); MariaDB, which cannot, finds them by exact arithmetic
 * (scaling by powers of two is exact), correcting LOG2's rounding by power-of-two comparisons
 * (kept below 2^1024, which overflows).
 */
function floatBits(x: string, pg: boolean): string {
  if (pg) {
    const b = `('x' || encode(float8send(${x}), 'hex'))::bit(64)`;
    const ef = `substring(${b} from 2 for 11)::int`;
    const frac = `substring(${b} from 13 for 52)::bigint`;
    const sign = `CASE WHEN substring(${b} from 1 for 1) = B'1' THEN '-' ELSE '' END`;
    return (
      `CASE WHEN ${x} = 0 THEN '0' WHEN ${ef} = 0 THEN ${sign} || '-1023:' || ${frac}::text ` +
      `ELSE ${sign} || (${ef} - 1023)::text || ':' || (${frac} + 4503599627370496)::text END`
    );
  }
  const a = `ABS(${x})`;
  const e0 = `LEAST(FLOOR(LOG2(${a})), 1023)`;
  const e = `(${e0} + IF(POW(2, LEAST(${e0} + 1, 1023)) <= ${a} AND ${e0} < 1023, 1, 0) - IF(POW(2, ${e0}) > ${a}, 1, 0))`;
  const sign = `IF(${x} < 0, '-', '')`;
  return (
    `CASE WHEN ${x} = 0 THEN '0' WHEN ${a} < POW(2, -1022) THEN CONCAT(${sign}, '-1023:', CAST(${a} / POW(2, -1074) AS UNSIGNED)) ` +
    `ELSE CONCAT(${sign}, ${e}, ':', CAST(${a} / POW(2, ${e} - 52) AS UNSIGNED)) END`
  );
}

const UTF8 = (x: string) => `CONVERT(${x} USING utf8mb4)`;
/** NUL, which the encoder replaces (or refuses), as U+FFFD. */
const NUL_AS_FFFD = (x: string) => `REPLACE(${x}, CHAR(0 USING utf8mb4), _utf8mb4 X'EFBFBD')`;

/** The canonical text of a column, as MySQL (the source column) and PostgreSQL (its copy) compute it. */
export function canonical(col: Column, zeroDates: ZeroDates = 'Refuse'): Canonical {
  const { type, encoding: e } = mysqlInfo(col);
  const m = mysqlIdent(col.name);
  const p = quoteIdent(col.name);
  const family = targetFamily(col.type);
  const asText = family === 'text' || family === 'other';
  switch (e.kind) {
    case 'number':
    case 'float': {
      // MariaDB renders FLOAT with 6 digits: as a double, exactly.
      const value = e.kind === 'float' ? `CAST(${m} AS DOUBLE)` : m;
      if (family === 'float')
        return { mysql: floatBits(value, false), postgres: floatBits(`${p}::float8`, true) };
      // Zerofill pads, and YEAR renders 0 as 0000: + 0 gives the plain number.
      const padded = /zerofill/i.test(type.columnType) || normalizeSourceType(type.columnType) === 'year';
      return { mysql: `CAST(${padded && !asText ? `${value} + 0` : value} AS CHAR)`, postgres: `${p}::text` };
    }
    case 'boolean':
      return {
        mysql: `CASE ${m} WHEN 1 THEN 't' WHEN 0 THEN 'f' ELSE CAST(${m} AS CHAR) END`,
        postgres: `CASE WHEN ${p} THEN 't' WHEN NOT ${p} THEN 'f' END`,
      };
    case 'bit':
      if (e.as === 'bits') return { mysql: `LPAD(BIN(${m}), ${e.width}, '0')`, postgres: `${p}::text` };
      if (e.as === 'boolean')
        return {
          mysql: `CASE WHEN ${m} = 0 THEN 'f' WHEN ${m} <> 0 THEN 't' END`,
          postgres: `CASE WHEN ${p} THEN 't' WHEN NOT ${p} THEN 'f' END`,
        };
      return { mysql: `CAST(${m} + 0 AS CHAR)`, postgres: `${p}::text` };
    case 'date': {
      const dateOnly = type.dataType.toLowerCase() === 'date';
      if (asText)
        return { mysql: `CONCAT(CAST(${m} AS CHAR)${e.utc ? ", '+00'" : ''})`, postgres: `${p}::text` };
      const [my, pg] = dateOnly
        ? ['%Y-%m-%d', 'YYYY-MM-DD']
        : ['%Y-%m-%d %H:%i:%s.%f', 'YYYY-MM-DD HH24:MI:SS.US'];
      const at = family === 'timestamptz' ? `${p} AT TIME ZONE 'UTC'` : p;
      // A zero date is NULL or -infinity on the target (spec.conversion.zeroDates); refused ones never load.
      const zero = `(YEAR(${m}) = 0 OR MONTH(${m}) = 0 OR DAYOFMONTH(${m}) = 0)`;
      const instead = { Nullify: 'NULL', Sentinel: "'-infinity'", Refuse: `CAST(${m} AS CHAR)` }[zeroDates];
      return {
        mysql: `IF(${zero}, ${instead}, DATE_FORMAT(${m}, '${my}'))`,
        postgres: `CASE WHEN isfinite(${p}) THEN to_char(${at}, '${pg}') ELSE ${p}::text END`,
      };
    }
    case 'time':
      if (asText) return { mysql: `CAST(${m} AS CHAR)`, postgres: `${p}::text` };
      return {
        mysql: `CAST(CAST(TIME_TO_SEC(${m}) * 1000000 AS SIGNED) AS CHAR)`,
        postgres: `(extract(epoch from ${p}) * 1000000)::bigint::text`,
      };
    case 'text': {
      // ascii's invalid bytes: MySQL converts each to '?', the encoder (Replace) to U+FFFD.
      // inet renders its netmask (/128); MariaDB's inet6 has none.
      const postgres =
        family === 'inet'
          ? `host(${p})`
          : e.charset === 'ascii'
            ? `replace(${p}::text, U&'\\FFFD', '?')`
            : `${p}::text`;
      return { mysql: NUL_AS_FFFD(UTF8(m)), postgres };
    }
    case 'set':
      return {
        mysql: UTF8(m),
        postgres: col.type === 'text[]' ? `array_to_string(${p}, ',')` : `${p}::text`,
      };
    case 'bytes':
      return {
        mysql: `LOWER(HEX(${m}))`,
        postgres: e.as === 'bytea' ? `encode(${p}, 'hex')` : `replace(${p}::text, '-', '')`,
      };
    case 'geometry':
      // The SRID, then the WKB as MySQL stores it (little-endian, as MariaDB keeps it).
      return {
        mysql: `CONCAT(ST_SRID(${m}), ':', LOWER(HEX(SUBSTRING(${m}, 5))))`,
        postgres: `${POSTGIS_SCHEMA}.st_srid(${p}) || ':' || encode(${POSTGIS_SCHEMA}.st_asbinary(${p}, 'NDR'), 'hex')`,
      };
  }
}

export interface DigestOptions {
  /** spec.conversion.zeroDates: a zero date's canonical text is what the target holds for it. */
  zeroDates: ZeroDates;
}

/** The md5 of a row's canonical texts, on MySQL. */
export function mysqlRowHash(t: Table, opts: DigestOptions): string {
  const parts = t.columns.map((c) => {
    const b = `CAST(${canonical(c, opts.zeroDates).mysql} AS BINARY)`;
    return `COALESCE(CONCAT(LENGTH(${b}), ':', ${b}), '-')`;
  });
  return `MD5(CONCAT(${parts.join(', ')}))`;
}

/** The md5 of a row's canonical texts, on PostgreSQL (its session with extra_float_digits >= 1). */
export function postgresRowHash(t: Table): string {
  const parts = t.columns.map((c) => {
    const x = canonical(c).postgres;
    return `coalesce(octet_length(${x})::text || ':' || ${x}, '-')`;
  });
  return `md5(concat(${parts.join(', ')}))`;
}

/** Count and checksum of a chunk of a MySQL table. Results as text (binary-safe sessions send bytes). */
export function mysqlMeasureSql(
  database: string,
  t: Table,
  range: Range | null,
  how: Validation,
  opts: DigestOptions,
): string {
  const from = `${mysqlIdent(database)}.${mysqlIdent(t.name)} ${mysqlRangePredicate(t, range)}`;
  if (how !== 'Checksum') return `SELECT CAST(COUNT(*) AS CHAR) AS \`rows\`, NULL AS checksum FROM ${from}`;
  const half = (side: 'LEFT' | 'RIGHT') => `COALESCE(SUM(CAST(CONV(${side}(h, 16), 16, 10) AS UNSIGNED)), 0)`;
  return (
    `SELECT CAST(COUNT(*) AS CHAR) AS \`rows\`, CONCAT(${half('LEFT')}, ':', ${half('RIGHT')}) AS checksum ` +
    `FROM (SELECT ${mysqlRowHash(t, opts)} AS h FROM ${from}) d`
  );
}

/** Count and checksum of the same rows on PostgreSQL (`range` only when it is portable). */
export function postgresMeasureSql(schema: string, t: Table, range: Range | null, how: Validation): string {
  const from = `${qualified(schema, t.name)} ${pgRangePredicate(range)}`;
  if (how !== 'Checksum') return `SELECT count(*)::text AS rows, NULL::text AS checksum FROM ${from}`;
  const u64 = (at: number) =>
    `(('x' || substr(h, ${at}, 8))::bit(32)::bigint::numeric * 4294967296 + ('x' || substr(h, ${at + 8}, 8))::bit(32)::bigint)`;
  return (
    `SELECT count(*)::text AS rows, coalesce(sum(${u64(1)}), 0)::text || ':' || coalesce(sum(${u64(17)}), 0)::text AS checksum ` +
    `FROM (SELECT ${postgresRowHash(t)} AS h FROM ${from}) d`
  );
}
