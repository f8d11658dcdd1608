// The catalog of one MySQL/MariaDB database (MySQL's "schema") as ferry's Catalog: columns with
// their PostgreSQL types (types.ts), NOT NULL, defaults, auto-increment as identity, generated
// columns, keys, unique and check constraints, indexes, foreign keys, comments, and the sizes the
// plan needs. readRawCatalog reads information_schema (the adapter); buildCatalog decides (pure).
//
// What cannot move exactly is said two ways: `refused` (a column whose type or charset ferry
// cannot convert, a non-transactional table, a name too long for PostgreSQL: Checks refuses the
// run, the table must be converted or left out), and `unsupported` inventory entries (a prefix or
// FULLTEXT index, ON UPDATE CURRENT_TIMESTAMP, a default or CHECK that does not translate, views,
// triggers, routines: Checks refuses unless spec.objects.skipUnsupported, then they are left out).
// Spatial columns need PostGIS on the target: the catalog names the extension among its objects,
// which Checks requires (or PreProcessing creates, where ferry's role may).
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { TypeRule } from '../../api/migration.ts';
import type { Conversion } from '../../api/settings.ts';
import { quoteIdent, quoteLiteral } from '../../db/ident.ts';
import { inventoryOnly, type CommentDef, type InventoryEntry } from '../../catalog/objects-types.ts';
import type { Catalog, Column, Constraint, Index, Table, UserType } from '../../catalog/types.ts';
import { ExpressionError, translateExpression, unquoteString } from './expression.ts';
import { binaryField } from './encode-binary.ts';
import {
  mapColumn,
  POSTGIS_SCHEMA,
  TypeMapError,
  type Encoding,
  type Mapping,
  type MysqlType,
} from './types.ts';

/** What a MySQL column keeps beyond the common Column: its source type and how values travel. */
export interface MysqlColumnInfo {
  type: MysqlType;
  encoding: Encoding;
}
export type MysqlColumn = Column & { mysql: MysqlColumnInfo };

/** The MySQL side of a catalog column (read, digest). */
export function mysqlInfo(c: Column): MysqlColumnInfo {
  const info = (c as Partial<MysqlColumn>).mysql;
  if (!info) throw new Error(`internal: column ${c.name} has no MySQL type in the catalog`);
  return info;
}

export interface RawTable {
  name: string;
  engine: string | null;
  rows: string;
  dataLength: string;
  indexLength: string;
  /** The next auto-increment value, or null. */
  autoIncrement: string | null;
  comment: string;
}

export interface RawColumn {
  table: string;
  name: string;
  /** COLUMN_DEFAULT: MariaDB quotes literals (`'x'`, `NULL` for an explicit NULL default); null: none. */
  default: string | null;
  nullable: boolean;
  dataType: string;
  columnType: string;
  charset: string | null;
  /** EXTRA: `auto_increment`, `on update current_timestamp()`, `STORED GENERATED`, ... */
  extra: string;
  generation: string | null;
  comment: string;
}

export interface RawIndexColumn {
  table: string;
  index: string;
  unique: boolean;
  column: string;
  /** Prefix length of a prefix index part, else null. */
  subPart: string | null;
  /** BTREE, HASH, FULLTEXT, SPATIAL. */
  type: string;
  descending: boolean;
}

export interface RawCheck {
  table: string;
  name: string;
  clause: string;
  /** MariaDB: `Column` for a column's own CHECK (json's `json_valid(col)`), `Table` otherwise. */
  level: string;
}

export interface RawForeignKey {
  table: string;
  name: string;
  referencedSchema: string;
  referencedTable: string;
  columns: string[];
  referencedColumns: string[];
  updateRule: string;
  deleteRule: string;
}

export interface RawCatalog {
  database: string;
  /** SELECT VERSION(): `10.11.19-MariaDB-0+deb12u1`. */
  version: string;
  tables: RawTable[];
  columns: RawColumn[];
  /** Index parts in index order. */
  indexes: RawIndexColumn[];
  checks: RawCheck[];
  foreignKeys: RawForeignKey[];
  /** Other objects of the database, which ferry does not migrate: kind and name. */
  others: { kind: string; name: string }[];
}

export interface BuildOptions {
  /** Whether a table is selected (spec.tables); all by default. */
  select?: (table: string) => boolean;
  typeMap: readonly TypeRule[];
  conversion: Conversion;
}

export interface Extracted {
  catalog: Catalog;
  /** What no option can move: Checks refuses the run naming each. */
  refused: string[];
}

export const PG_NAME_MAX = 63;

/** `major * 10000 + minor * 100 + patch`, like PostgreSQL's server_version_num. */
export function versionNumber(version: string): number {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  return major * 10000 + minor * 100 + patch;
}

/** Names unique among `taken` (PostgreSQL's relations and types share a namespace), at most 63 bytes. */
export function namer(taken: Set<string>): (base: string) => string {
  const cut = (s: string, bytes: number) => {
    let out = s;
    while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
    return out;
  };
  return (base) => {
    let name = cut(base, PG_NAME_MAX);
    for (let i = 2; taken.has(name); i++) name = cut(base, PG_NAME_MAX - String(i).length - 1) + `_${i}`;
    taken.add(name);
    return name;
  };
}

const cols = (names: readonly string[]) => names.map(quoteIdent).join(', ');

const DATE_TYPES = new Set(['date', 'datetime', 'timestamp']);

/** A default as PostgreSQL writes it, null for none, or why it cannot be kept. */
function translateDefault(
  raw: string | null,
  m: Mapping,
  conv: Conversion,
): { sql: string | null } | { unsupported: string } {
  if (raw === null || raw === 'NULL') return { sql: null };
  const e = m.encoding;
  const bit = /^b'([01]*)'$/i.exec(raw);
  if (bit && e.kind === 'bit') {
    const digits = bit[1]!;
    if (e.as === 'boolean') return { sql: /1/.test(digits) ? 'true' : 'false' };
    if (e.as === 'integer') return { sql: BigInt(`0b${digits || '0'}`).toString() };
    return { sql: `B'${digits.padStart(e.width, '0').slice(-e.width)}'` };
  }
  if (/^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/i.test(raw)) {
    if (e.kind !== 'boolean') return { sql: raw };
    return raw === '0' || raw === '1'
      ? { sql: raw === '1' ? 'true' : 'false' }
      : { unsupported: `default ${raw} is not a boolean` };
  }
  if (raw.startsWith("'")) {
    const v = unquoteString(raw).value;
    if (e.kind === 'date' && /^0000|^\d{4}-00|^\d{4}-\d\d-00/.test(v)) {
      if (conv.zeroDates === 'Nullify') return { sql: null };
      if (conv.zeroDates === 'Sentinel') return { sql: "'-infinity'" };
      return { unsupported: `default '${v}' is a zero date (spec.conversion.zeroDates)` };
    }
    if (e.kind === 'set') {
      const members = v === '' ? [] : v.split(',');
      return { sql: quoteLiteral(`{${members.map((x) => `"${x.replace(/["\\]/g, '\\$&')}"`).join(',')}}`) };
    }
    if (e.kind === 'bytes') return { sql: quoteLiteral(`\\x${Buffer.from(v).toString('hex')}`) };
    return { sql: quoteLiteral(v) };
  }
  try {
    return { sql: translateExpression(raw, new Map()) };
  } catch (err) {
    if (err instanceof ExpressionError) return { unsupported: `default ${raw}: ${err.message}` };
    throw err;
  }
}

/** The key: the primary key, else a unique BTREE key over NOT NULL columns without prefixes. */
function keyOf(
  indexes: Map<string, RawIndexColumn[]>,
  notNull: (c: string) => boolean,
): { name: string; columns: string[] } | undefined {
  const usable = (parts: RawIndexColumn[]) => parts.every((p) => p.subPart === null && p.type !== 'FULLTEXT');
  const pk = indexes.get('PRIMARY');
  if (pk && usable(pk)) return { name: 'PRIMARY', columns: pk.map((p) => p.column) };
  for (const [name, parts] of indexes)
    if (name !== 'PRIMARY' && parts[0]!.unique && usable(parts) && parts.every((p) => notNull(p.column)))
      return { name, columns: parts.map((p) => p.column) };
  return undefined;
}

export function buildCatalog(raw: RawCatalog, opts: BuildOptions): Extracted {
  const refused: string[] = [];
  const inventory: InventoryEntry[] = [];
  const comments: CommentDef[] = [];
  const types: UserType[] = [];
  const selected = raw.tables.filter((t) => opts.select?.(t.name) ?? true);
  const names = new Set(selected.map((t) => t.name));
  const name = namer(new Set(names));
  const unsupported = (kind: string, what: string, reason: string) =>
    inventory.push({ kind, name: what, status: 'unsupported', reason });

  const tables = selected.map((rt): Table => {
    const t = rt.name;
    inventory.push({ kind: 'table', name: t, status: 'migrated' });
    if (Buffer.byteLength(t) > PG_NAME_MAX)
      refused.push(`table ${t}: its name is longer than PostgreSQL's 63 bytes`);
    if (rt.engine !== null && rt.engine.toLowerCase() !== 'innodb')
      refused.push(
        `table ${t}: its engine ${rt.engine} has no transactions, so ferry cannot read it consistently ` +
          `(ALTER TABLE ${t} ENGINE=InnoDB, or leave it out with spec.tables.exclude)`,
      );
    if (rt.comment) comments.push({ target: `TABLE ${quoteIdent(t)}`, key: `table ${t}`, text: rt.comment });

    const rawColumns = raw.columns.filter((c) => c.table === t);
    const jsonColumns = new Set(
      raw.checks
        .filter((k) => k.table === t && k.level === 'Column' && k.clause === `json_valid(\`${k.name}\`)`)
        .map((k) => k.name),
    );
    const parts = new Map<string, RawIndexColumn[]>();
    for (const p of raw.indexes.filter((i) => i.table === t))
      parts.set(p.index, [...(parts.get(p.index) ?? []), p]);
    const nullable = new Map(rawColumns.map((c) => [c.name, c.nullable]));
    const key = keyOf(parts, (c) => nullable.get(c) === false);
    const constraints: Constraint[] = [];
    const columns: MysqlColumn[] = [];
    const identitySequences: Table['identitySequences'] = [];

    // Each column's mapping first: expressions may name any column of the table.
    const mapped = rawColumns.flatMap((rc) => {
      const where = `column ${t}.${rc.name}`;
      if (Buffer.byteLength(rc.name) > PG_NAME_MAX)
        refused.push(`${where}: its name is longer than PostgreSQL's 63 bytes`);
      const type: MysqlType = {
        dataType: rc.dataType,
        columnType: rc.columnType,
        charset: rc.charset,
        ...(rc.dataType === 'json' || jsonColumns.has(rc.name) ? { json: true } : {}),
      };
      let m: Mapping;
      try {
        m = mapColumn(type, { table: t, column: rc.name }, opts.typeMap);
      } catch (e) {
        if (!(e instanceof TypeMapError)) throw e;
        refused.push(`${where}: ${e.message}`);
        return [];
      }
      // A bigint unsigned counter becomes a bigint identity (PostgreSQL identities are integers).
      if (/auto_increment/i.test(rc.extra) && m.type === 'numeric(20,0)' && m.encoding.kind === 'number')
        m = {
          ...m,
          type: 'bigint',
          encoding: { kind: 'number', range: ['-9223372036854775808', '9223372036854775807'] },
        };
      return [{ rc, type, m }];
    });
    // The columns an expression may name, with a reason where a value compares otherwise on PostgreSQL.
    const references = new Map<string, string | null>(
      mapped.map(({ rc, m }) => [
        rc.name,
        ['boolean', 'set', 'bit'].includes(m.encoding.kind)
          ? `column ${rc.name} becomes ${m.type} on PostgreSQL`
          : null,
      ]),
    );

    for (const { rc, type, m } of mapped) {
      const extra = rc.extra.toLowerCase();
      const autoIncrement = extra.includes('auto_increment');
      let pgType = m.type;
      if (m.enumLabels) {
        const typeName = name(`${t}_${rc.name}`);
        types.push({
          name: typeName,
          definition: `CREATE TYPE ${quoteIdent(typeName)} AS ENUM (${m.enumLabels.map(quoteLiteral).join(', ')})`,
        });
        pgType = quoteIdent(typeName);
      }
      if (m.check) {
        const values = m.check.values.map(quoteLiteral).join(', ');
        constraints.push({
          name: name(`${t}_${rc.name}_check`),
          kind: 'c',
          definition:
            m.check.kind === 'in'
              ? `CHECK (${quoteIdent(rc.name)} IN (${values}))`
              : `CHECK (${quoteIdent(rc.name)} <@ ARRAY[${values}]::text[])`,
          references: null,
        });
      }
      let generated: string | null = null;
      if (rc.generation !== null && /generated/.test(extra)) {
        try {
          generated = translateExpression(rc.generation, references);
        } catch (e) {
          if (!(e instanceof ExpressionError)) throw e;
          unsupported(
            'generated column',
            `${t}.${rc.name}`,
            `${rc.generation}: ${e.message} (skipped: its values are copied into a plain column)`,
          );
        }
      }
      let def: string | null = null;
      if (!autoIncrement && generated === null) {
        const d = translateDefault(rc.default, m, opts.conversion);
        if ('sql' in d) def = d.sql;
        else
          unsupported('default', `${t}.${rc.name}`, `${d.unsupported} (skipped: the column has no default)`);
      }
      if (/on update/.test(extra))
        unsupported(
          'on update',
          `${t}.${rc.name}`,
          `${rc.extra}: PostgreSQL needs a trigger for it (skipped: the column keeps its values, not the behaviour)`,
        );
      const dateKind = DATE_TYPES.has(rc.dataType.toLowerCase());
      if (autoIncrement) {
        const next = BigInt(rt.autoIncrement ?? '1');
        identitySequences.push({
          column: rc.name,
          lastValue: next > 1n ? (next - 1n).toString() : null,
          isCalled: next > 1n,
        });
      }
      if (rc.comment)
        comments.push({
          target: `COLUMN ${quoteIdent(t)}.${quoteIdent(rc.name)}`,
          key: `table ${t}`,
          text: rc.comment,
        });
      columns.push({
        name: rc.name,
        type: pgType,
        typeOid: 0,
        builtinType: binaryField(pgType, m.encoding) !== null,
        // Nullify turns zero dates into NULL, so their columns accept it.
        notNull: !rc.nullable && !(dateKind && opts.conversion.zeroDates === 'Nullify'),
        default: def,
        identity: autoIncrement ? 'd' : '',
        generated,
        collation: null,
        mysql: { type, encoding: m.encoding },
      });
    }

    const indexes: Index[] = [];
    for (const [index, ps] of parts) {
      const what = `${index} on ${t}`;
      const prefixed = ps.filter((p) => p.subPart !== null);
      if (ps[0]!.type === 'FULLTEXT') {
        unsupported('index', what, 'FULLTEXT indexes are not migrated');
        continue;
      }
      if (ps[0]!.type === 'SPATIAL') {
        // MySQL's R-tree over one column: PostGIS's is a GiST index.
        const n = name(`${t}_${index}`);
        indexes.push({
          name: n,
          definition: `CREATE INDEX ${quoteIdent(n)} ON ${quoteIdent(t)} USING gist (${cols(ps.map((p) => p.column))})`,
        });
        continue;
      }
      if (prefixed.length) {
        const list = prefixed.map((p) => `${p.column}(${p.subPart})`).join(', ');
        if (index === 'PRIMARY')
          refused.push(
            `table ${t}: its primary key has prefix parts (${list}), which PostgreSQL cannot have`,
          );
        else unsupported('index', what, `prefix parts ${list}: PostgreSQL has no prefix indexes`);
        continue;
      }
      const names = ps.map((p) => p.column);
      if (index === 'PRIMARY')
        constraints.unshift({
          name: name(`${t}_pkey`),
          kind: 'p',
          definition: `PRIMARY KEY (${cols(names)})`,
          references: null,
        });
      else if (ps[0]!.unique)
        constraints.push({
          name: name(`${t}_${index}`),
          kind: 'u',
          definition: `UNIQUE (${cols(names)})`,
          references: null,
        });
      else {
        const n = name(`${t}_${index}`);
        const list = ps.map((p) => `${quoteIdent(p.column)}${p.descending ? ' DESC' : ''}`).join(', ');
        indexes.push({
          name: n,
          definition: `CREATE INDEX ${quoteIdent(n)} ON ${quoteIdent(t)} USING btree (${list})`,
        });
      }
    }

    for (const k of raw.checks.filter(
      (c) => c.table === t && !(c.level === 'Column' && jsonColumns.has(c.name)),
    )) {
      try {
        const expr = translateExpression(k.clause, references);
        constraints.push({ name: k.name, kind: 'c', definition: `CHECK (${expr})`, references: null });
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        unsupported('check constraint', `${k.name} on ${t}`, `${k.clause}: ${e.message}`);
      }
    }

    for (const fk of raw.foreignKeys.filter((f) => f.table === t)) {
      const what = `${fk.name} on ${t}`;
      if (fk.referencedSchema !== raw.database || !names.has(fk.referencedTable)) {
        unsupported(
          'foreign key',
          what,
          `it references ${fk.referencedSchema}.${fk.referencedTable}, which is not migrated`,
        );
        continue;
      }
      constraints.push({
        name: fk.name,
        kind: 'f',
        definition:
          `FOREIGN KEY (${cols(fk.columns)}) REFERENCES ${quoteIdent(fk.referencedTable)}(${cols(fk.referencedColumns)})` +
          ` ON UPDATE ${fk.updateRule} ON DELETE ${fk.deleteRule}`,
        references: fk.referencedTable,
      });
    }

    const keyConstraint =
      key === undefined
        ? null
        : key.name === 'PRIMARY'
          ? (constraints.find((c) => c.kind === 'p')?.name ?? null)
          : (constraints.find((c) => c.kind === 'u' && c.definition === `UNIQUE (${cols(key.columns)})`)
              ?.name ?? null);
    return {
      name: t,
      columns,
      key: key?.columns ?? [],
      keyIsPrimary: key?.name === 'PRIMARY',
      keyName: keyConstraint,
      constraints,
      indexes,
      identitySequences,
      rowEstimate: Number(rt.rows),
      totalBytes: Number(rt.dataLength) + Number(rt.indexLength),
      heapBytes: Number(rt.dataLength),
      pages: 0,
    };
  });

  for (const o of raw.others) unsupported(o.kind, o.name, `${o.kind}s of a MySQL source are not migrated`);
  const spatial = tables.flatMap((t) =>
    t.columns.filter((c) => mysqlInfo(c).encoding.kind === 'geometry').map((c) => `${t.name}.${c.name}`),
  );
  const objects = inventoryOnly(
    inventory,
    comments,
    spatial.length
      ? [{ name: 'postgis', schema: POSTGIS_SCHEMA, neededBy: `the spatial columns ${spatial.join(', ')}` }]
      : [],
  );
  return {
    catalog: {
      schema: raw.database,
      serverVersion: versionNumber(raw.version),
      types,
      sequences: [],
      tables,
      objects,
    },
    refused,
  };
}

type Row = RowDataPacket & Record<string, string | null>;

/** information_schema of one database. Numbers come as text (CAST ... AS CHAR): no JS number on the way. */
export async function readRawCatalog(c: Connection, database: string): Promise<RawCatalog> {
  const q = async (sql: string) => (await c.query<Row[]>(sql, [database]))[0];
  const [version] = await c.query<Row[]>('SELECT VERSION() AS v');
  const tables = await q(
    `SELECT TABLE_NAME AS name, ENGINE AS engine, CAST(COALESCE(TABLE_ROWS, 0) AS CHAR) AS \`rows\`,
            CAST(COALESCE(DATA_LENGTH, 0) AS CHAR) AS data, CAST(COALESCE(INDEX_LENGTH, 0) AS CHAR) AS idx,
            CAST(AUTO_INCREMENT AS CHAR) AS ai, TABLE_COMMENT AS comment
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
  );
  const columns = await q(
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_DEFAULT AS def, IS_NULLABLE AS nullable,
            DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, CHARACTER_SET_NAME AS charset, EXTRA AS extra,
            GENERATION_EXPRESSION AS generation, COLUMN_COMMENT AS comment
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  );
  const indexes = await q(
    `SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, NON_UNIQUE AS non_unique, COLUMN_NAME AS col,
            CAST(SUB_PART AS CHAR) AS sub_part, INDEX_TYPE AS type, COLLATION AS collation
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  );
  const checks = await q(
    `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause, LEVEL AS level
       FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
  );
  const fkParts = await q(
    `SELECT k.TABLE_NAME AS tbl, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col,
            k.REFERENCED_TABLE_SCHEMA AS ref_schema, k.REFERENCED_TABLE_NAME AS ref_table,
            k.REFERENCED_COLUMN_NAME AS ref_col, r.UPDATE_RULE AS upd, r.DELETE_RULE AS del
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
      WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
      ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
  );
  const others = await c.query<Row[]>(
    `SELECT 'view' AS kind, TABLE_NAME AS name FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?
     UNION ALL SELECT 'trigger', CONCAT(TRIGGER_NAME, ' on ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
     UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
     UNION ALL SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
    [database, database, database, database],
  );
  const foreignKeys = new Map<string, RawForeignKey>();
  for (const p of fkParts) {
    const id = `${p['tbl']}\0${p['name']}`;
    const fk =
      foreignKeys.get(id) ??
      foreignKeys
        .set(id, {
          table: p['tbl']!,
          name: p['name']!,
          referencedSchema: p['ref_schema']!,
          referencedTable: p['ref_table']!,
          columns: [],
          referencedColumns: [],
          updateRule: p['upd']!,
          deleteRule: p['del']!,
        })
        .get(id)!;
    fk.columns.push(p['col']!);
    fk.referencedColumns.push(p['ref_col']!);
  }
  return {
    database,
    version: version[0]!['v']!,
    tables: tables.map((r) => ({
      name: r['name']!,
      engine: r['engine'] ?? null,
      rows: r['rows']!,
      dataLength: r['data']!,
      indexLength: r['idx']!,
      autoIncrement: r['ai'] ?? null,
      comment: r['comment'] ?? '',
    })),
    columns: columns.map((r) => ({
      table: r['tbl']!,
      name: r['name']!,
      default: r['def'] ?? null,
      nullable: r['nullable'] === 'YES',
      dataType: r['data_type']!,
      columnType: r['column_type']!,
      charset: r['charset'] ?? null,
      extra: r['extra'] ?? '',
      generation: r['generation'] ?? null,
      comment: r['comment'] ?? '',
    })),
    indexes: indexes.map((r) => ({
      table: r['tbl']!,
      index: r['name']!,
      unique: String(r['non_unique']) === '0',
      column: r['col']!,
      subPart: r['sub_part'] ?? null,
      type: r['type']!,
      descending: r['collation'] === 'D',
    })),
    checks: checks.map((r) => ({
      table: r['tbl']!,
      name: r['name']!,
      clause: r['clause']!,
      level: r['level']!,
    })),
    foreignKeys: [...foreignKeys.values()],
    others: others[0].map((r) => ({ kind: r['kind']!, name: r['name']! })),
  };
}

/** The catalog of `database` as the migration selects and maps it. */
export async function extractCatalog(
  c: Connection,
  database: string,
  opts: BuildOptions,
): Promise<Extracted> {
  return buildCatalog(await readRawCatalog(c, database), opts);
}
