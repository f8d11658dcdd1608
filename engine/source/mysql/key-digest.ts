// Validating the rows the replay touched, by key (validate/compare.ts, validateTouched), between a
// MySQL source and its PostgreSQL copy: the rows of a page of keys, given as the keys' texts (a JSON
// array of arrays), hashed as digest.ts hashes rows on each side. Pure: SQL text only.
import type { Table } from '../../catalog/types.ts';
import { qualified, quoteIdent } from '../../db/ident.ts';
import { keyCasts } from '../../uptime/replay.ts';
import { mysqlRowHash, postgresRowHash, type DigestOptions } from './digest.ts';
import { keyEquals, keyValue } from './keys.ts';
import { mysqlIdent } from './read.ts';

/** The page's key texts as a derived table on MySQL (`ferry_n` its position, `ferry_k<j>` the texts). */
function mysqlPage(t: Table): string {
  const cols = t.key.map((_, j) => `ferry_k${j} text CHARACTER SET utf8mb4 PATH '$[${j}]'`);
  return `JSON_TABLE(?, '$[*]' COLUMNS (ferry_n FOR ORDINALITY, ${cols.join(', ')})) p`;
}

/** The page joined to the table: each key's value compared as the column's own (collations: one per key column). */
function mysqlJoin(database: string, t: Table, collations: readonly (string | null)[]): string {
  const table = `${mysqlIdent(database)}.${mysqlIdent(t.name)}`;
  const on = t.key.map((k, j) => {
    const col = t.columns.find((c) => c.name === k)!;
    const value = keyValue(col, `p.ferry_k${j}`);
    return keyEquals(
      col,
      `${table}.${mysqlIdent(k)}`,
      collations[j] ? `(${value} COLLATE ${collations[j]})` : value,
    );
  });
  return `${mysqlPage(t)} LEFT JOIN ${table} ON ${on.join(' AND ')}`;
}

const mysqlSums = (h: string) =>
  ['LEFT', 'RIGHT']
    .map((side) => `COALESCE(SUM(CAST(CONV(${side}(${h}, 16), 16, 10) AS UNSIGNED)), 0)`)
    .join(", ':', ");

const present = (database: string, t: Table) =>
  `${mysqlIdent(database)}.${mysqlIdent(t.name)}.${mysqlIdent(t.key[0]!)} IS NOT NULL`;

/** Count and checksum of the rows with the page's keys, on MySQL ($1 is `?`). */
export function mysqlMeasureKeysSql(
  database: string,
  t: Table,
  collations: readonly (string | null)[],
  opts: DigestOptions,
): string {
  return (
    `SELECT CAST(COUNT(*) AS CHAR) AS \`rows\`, CONCAT(${mysqlSums('h')}) AS checksum FROM ` +
    `(SELECT ${mysqlRowHash(t, opts)} AS h FROM ${mysqlJoin(database, t, collations)} WHERE ${present(database, t)}) d`
  );
}

/** Each key's position in the page and its row's hash (NULL: no such row), on MySQL. */
export function mysqlRowDigestsSql(
  database: string,
  t: Table,
  collations: readonly (string | null)[],
  opts: DigestOptions,
): string {
  return `SELECT CAST(p.ferry_n AS CHAR) AS n, IF(${present(database, t)}, ${mysqlRowHash(t, opts)}, NULL) AS h FROM ${mysqlJoin(database, t, collations)}`;
}

/** The page's keys as a derived table on PostgreSQL, each cast to its column's type. */
function postgresPage(t: Table): string {
  const casts = keyCasts(t, (i) => `e ->> ${i - 1}`);
  return `(SELECT ${casts.map((c, j) => `${c} AS ferry_k${j}`).join(', ')}, ferry_n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, ferry_n)) p`;
}

const postgresJoin = (schema: string, t: Table) =>
  `${postgresPage(t)} LEFT JOIN ${qualified(schema, t.name)} ON ${t.key.map((k, j) => `${qualified(schema, t.name)}.${quoteIdent(k)} = p.ferry_k${j}`).join(' AND ')}`;

const postgresSums = (h: string) =>
  [1, 17]
    .map(
      (at) =>
        `coalesce(sum(('x' || substr(${h}, ${at}, 8))::bit(32)::bigint::numeric * 4294967296 + ('x' || substr(${h}, ${at + 8}, 8))::bit(32)::bigint), 0)::text`,
    )
    .join(" || ':' || ");

/** Count and checksum of the same rows on PostgreSQL. */
export function postgresMeasureKeysSql(schema: string, t: Table): string {
  const hit = `${qualified(schema, t.name)}.${quoteIdent(t.key[0]!)} IS NOT NULL`;
  return `SELECT count(*)::text AS rows, ${postgresSums('h')} AS checksum FROM (SELECT ${postgresRowHash(t)} AS h FROM ${postgresJoin(schema, t)} WHERE ${hit}) d`;
}

/** Each key's position and its row's hash (NULL: none), on PostgreSQL. */
export function postgresRowDigestsSql(schema: string, t: Table): string {
  const hit = `${qualified(schema, t.name)}.${quoteIdent(t.key[0]!)} IS NOT NULL`;
  return `SELECT p.ferry_n::int AS n, CASE WHEN ${hit} THEN ${postgresRowHash(t)} END AS h FROM ${postgresJoin(schema, t)}`;
}
