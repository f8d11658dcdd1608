// The catalog of one or more schemas of a SQL Server database as ferry's Catalog: columns with their
// PostgreSQL types (types.ts), NOT NULL, defaults, identity, computed columns, keys, unique and check
// constraints, indexes (filtered, INCLUDE, DESC), foreign keys, sequences, comments (MS_Description)
// and the sizes the plan needs. readRawCatalog reads sys.* (the adapter); buildCatalog decides (pure).
//
// What cannot move exactly is said two ways, as for MySQL: `refused` (a type ferry cannot convert, a
// temporal history, ledger, memory-optimized, file or external table, a name too long for
// PostgreSQL: Checks refuses the run) and `unsupported` inventory entries (an XML, spatial or
// columnstore index, a default, CHECK, filter or computed column that does not translate
// (expression.ts), a disabled constraint, views, triggers, routines, synonyms: Checks refuses unless
// spec.objects.skipUnsupported, then they are left out).
import type { TypeRule } from '../../api/migration.ts';
import type { SchemaPair } from '../../api/settings.ts';
import { creationOrder } from '../../catalog/rename.ts';
import { tableKey } from '../../catalog/schemas.ts';
import { inventoryOnly, type CommentDef, type InventoryEntry } from '../../catalog/objects-types.ts';
import type { Catalog, Constraint, Index, Sequence, Table } from '../../catalog/types.ts';
import { qualified, quoteIdent } from '../../db/ident.ts';
import { namer, PG_NAME_MAX } from '../mysql/catalog.ts';
import type { MssqlColumn, MssqlType } from './column.ts';
import type { MssqlConnection, Param } from './connect.ts';
import {
  ExpressionError,
  translateCondition,
  translateDefault,
  translateExpression,
  type ColumnRef,
  type Kind,
} from './expression.ts';
import { mapColumn, TypeMapError } from './types.ts';

export interface RawTable {
  schema: string;
  name: string;
  /** sys.tables.temporal_type: 0 none, 1 a history table, 2 system-versioned. */
  temporalType: number;
  /** sys.tables.ledger_type (SQL Server 2022+; 0 before): 0 none, else a ledger table or its history. */
  ledgerType: number;
  memoryOptimized: boolean;
  fileTable: boolean;
  external: boolean;
  /** A graph node or edge table (SQL Server 2017+). */
  graph: boolean;
  /** Rows of the heap or clustered index (sys.partitions), as text. */
  rows: string;
  /** Pages of all allocation units of the table and its indexes, and of the heap or clustered index alone. */
  totalPages: string;
  dataPages: string;
  comment: string | null;
}

export interface RawColumn {
  schema: string;
  table: string;
  name: string;
  type: MssqlType;
  nullable: boolean;
  /** Seed, increment and last value (null before the first row) as text. */
  identity: { seed: string; increment: string; lastValue: string | null } | null;
  computed: { definition: string; persisted: boolean } | null;
  /** sys.default_constraints.definition: `((0))`, `(getdate())`. */
  default: string | null;
  /** The XML column set of sparse columns: not stored, rendered from the sparse columns. */
  columnSet: boolean;
  comment: string | null;
}

export interface RawIndexColumn {
  schema: string;
  table: string;
  index: string;
  /** sys.indexes.type: 1 clustered, 2 nonclustered, 3 XML, 4 spatial, 5/6 columnstore, 7 hash. */
  type: number;
  typeDesc: string;
  unique: boolean;
  primaryKey: boolean;
  uniqueConstraint: boolean;
  disabled: boolean;
  filter: string | null;
  column: string;
  descending: boolean;
  included: boolean;
}

export interface RawCheck {
  schema: string;
  table: string;
  name: string;
  definition: string;
  disabled: boolean;
  notTrusted: boolean;
}

export interface RawForeignKey {
  schema: string;
  table: string;
  name: string;
  referencedSchema: string;
  referencedTable: string;
  columns: string[];
  referencedColumns: string[];
  /** sys.foreign_keys.*_referential_action_desc: NO_ACTION, CASCADE, SET_NULL, SET_DEFAULT. */
  deleteAction: string;
  updateAction: string;
  disabled: boolean;
  notTrusted: boolean;
}

export interface RawSequence {
  schema: string;
  name: string;
  /** The system type: tinyint, smallint, int, bigint, decimal, numeric. */
  type: string;
  start: string;
  increment: string;
  minimum: string;
  maximum: string;
  cycle: boolean;
  /** current_value: the last value handed out, or the start value when none was. */
  current: string;
  /** last_used_value (SQL Server 2017+): null when none was handed out; undefined on 2016. */
  lastUsed?: string | null;
}

/** A view, routine, trigger, synonym, full-text index... of a migrated schema. */
export interface RawObject {
  schema: string;
  kind: string;
  name: string;
  /** The table a trigger or full-text index is on. */
  table: string | null;
}

export interface RawCatalog {
  /** SERVERPROPERTY('ProductVersion'): `16.0.4135.4`. */
  version: string;
  tables: RawTable[];
  columns: RawColumn[];
  /** Index columns in index order: key columns by key_ordinal, then included ones. */
  indexes: RawIndexColumn[];
  checks: RawCheck[];
  foreignKeys: RawForeignKey[];
  sequences: RawSequence[];
  others: RawObject[];
}

export interface BuildOptions {
  /** The migrated schemas in manifest order, with their target names (settings.schemas). */
  schemas: readonly SchemaPair[];
  /** Whether a table is selected (spec.tables); all by default. */
  select?: (schema: string, table: string) => boolean;
  typeMap: readonly TypeRule[];
  /** ferry's own triggers on the migrated tables (a plan of a running migration): not the application's. */
  ours?: (schema: string, trigger: string) => boolean;
}

export interface Extracted {
  catalog: Catalog;
  /** What no option can move: Checks refuses the run naming each. */
  refused: string[];
}

/** `major * 10000 + minor * 100` of `16.0.4135.4`. */
export function versionNumber(version: string): number {
  const [major = 0, minor = 0] = (/^(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  return major * 10000 + minor * 100;
}

const cols = (names: readonly string[]) => names.map(quoteIdent).join(', ');
const tooLong = (name: string) => Buffer.byteLength(name) > PG_NAME_MAX;

/** What an expression may do with a column, from how its values travel (expression.ts). */
function columnRef(type: MssqlType, encoding: string): ColumnRef {
  const kinds: Record<string, Kind> = {
    boolean: 'bool',
    integer: 'int',
    bigint: 'int',
    decimal: 'num',
    float8: 'num',
    float4: 'num',
    money: 'num',
    date: 'time',
    time: 'time',
    timestamp: 'time',
    timestamptz: 'time',
    text: 'string',
    bytea: 'binary',
    uuid: 'uuid',
  };
  return {
    kind: kinds[encoding] ?? 'other',
    money: encoding === 'money',
    utf16Units:
      /^n(char|varchar|text)$/.test(type.name) && !/_SC\b|_SC_|_UTF8$|_1[4-9]0_/i.test(type.collation ?? ''),
  };
}

/** An identity column's range: SQL Server identities have none but their type's, PostgreSQL's need it (descending ones). */
function identityRange(t: MssqlType): { min: string; max: string } | undefined {
  const ints: Record<string, [string, string]> = {
    tinyint: ['0', '255'],
    smallint: ['-32768', '32767'],
    int: ['-2147483648', '2147483647'],
    bigint: ['-9223372036854775808', '9223372036854775807'],
  };
  const i = ints[t.name];
  if (i) return { min: i[0], max: i[1] };
  // decimal(p, 0) identities up to 18 digits fit a bigint.
  if ((t.name === 'decimal' || t.name === 'numeric') && t.scale === 0 && t.precision <= 18) {
    const max = (10n ** BigInt(t.precision) - 1n).toString();
    return { min: `-${max}`, max };
  }
  return undefined;
}

const ACTIONS: Readonly<Record<string, string>> = {
  NO_ACTION: 'NO ACTION',
  CASCADE: 'CASCADE',
  SET_NULL: 'SET NULL',
  SET_DEFAULT: 'SET DEFAULT',
};

/** A SQL Server sequence as a PostgreSQL one (PostgreSQL sequences are bigint at most). */
function sequenceOf(q: RawSequence): Omit<Sequence, 'schema' | 'name'> | string {
  const types: Record<string, string> = { tinyint: 'smallint', smallint: 'smallint', int: 'integer' };
  const inBigint = [q.minimum, q.maximum].every((v) => {
    const n = BigInt(v);
    return n >= -(2n ** 63n) && n < 2n ** 63n;
  });
  if (!/^-?\d+$/.test(q.minimum) || !/^-?\d+$/.test(q.maximum) || !inBigint)
    return `its range ${q.minimum}..${q.maximum} does not fit PostgreSQL's bigint sequences`;
  return {
    options:
      `AS ${types[q.type] ?? 'bigint'} INCREMENT BY ${q.increment} MINVALUE ${q.minimum} MAXVALUE ${q.maximum} ` +
      `START WITH ${q.start} ${q.cycle ? 'CYCLE' : 'NO CYCLE'}`,
    ...sequenceState(q),
    ownedBy: null,
  };
}

/** Where a sequence stands, as setval takes it. */
function sequenceState(q: Pick<RawSequence, 'current' | 'lastUsed'>): {
  lastValue: string | null;
  isCalled: boolean;
} {
  // Before 2017 an unused sequence cannot be told from one that handed out its start value:
  // taking it as used skips the start value at worst.
  const used = q.lastUsed === undefined ? q.current : q.lastUsed;
  return { lastValue: used, isCalled: used !== null };
}

export function buildCatalog(raw: RawCatalog, opts: BuildOptions): Extracted {
  const refused: string[] = [];
  const multi = opts.schemas.length > 1;
  const targetOf = new Map(opts.schemas.map((p) => [p.source, p.target]));
  const perSchema = new Map(
    opts.schemas.map((p) => [p.source, { inventory: [] as InventoryEntry[], comments: [] as CommentDef[] }]),
  );
  const uses = new Map(opts.schemas.map((p) => [p.source, new Set<string>()]));
  const unsupported = (schema: string, kind: string, name: string, reason: string) =>
    perSchema.get(schema)?.inventory.push({ kind, name, status: 'unsupported', reason });
  const selected = raw.tables.filter(
    (t) => perSchema.has(t.schema) && (opts.select?.(t.schema, t.name) ?? true),
  );
  const migrated = new Set(selected.map((t) => `${t.schema}\0${t.name}`));
  const namers = new Map(
    opts.schemas.map((p) => [
      p.source,
      namer(new Set([...selected, ...raw.sequences].filter((t) => t.schema === p.source).map((t) => t.name))),
    ]),
  );
  const sequences = raw.sequences.flatMap((q): Sequence[] => {
    if (!perSchema.has(q.schema)) return [];
    const where = multi ? `${q.schema}.${q.name}` : q.name;
    if (tooLong(q.name)) refused.push(`sequence ${where}: its name is longer than PostgreSQL's 63 bytes`);
    const s = sequenceOf(q);
    if (typeof s === 'string') {
      unsupported(q.schema, 'sequence', q.name, s);
      return [];
    }
    perSchema.get(q.schema)!.inventory.push({ kind: 'sequence', name: q.name, status: 'migrated' });
    return [{ ...(multi ? { schema: q.schema } : {}), name: q.name, ...s }];
  });

  const migratedSequences = new Set(
    sequences.map((q) => `${q.schema ?? opts.schemas[0]!.source}\0${q.name}`),
  );

  const tables = selected.map((rt): Table => {
    const { schema, name: t } = rt;
    const name = namers.get(schema)!;
    const objects = perSchema.get(schema)!;
    const where = multi ? `${schema}.${t}` : t;
    objects.inventory.push({ kind: 'table', name: t, status: 'migrated' });
    if (tooLong(t)) refused.push(`table ${where}: its name is longer than PostgreSQL's 63 bytes`);
    const kindOf =
      rt.temporalType === 1
        ? 'is the history table of a system-versioned table'
        : rt.ledgerType !== 0
          ? 'is a ledger table'
          : rt.memoryOptimized
            ? 'is memory-optimized'
            : rt.fileTable
              ? 'is a FileTable'
              : rt.external
                ? 'is an external table'
                : rt.graph
                  ? 'is a graph node or edge table'
                  : null;
    if (kindOf)
      refused.push(
        `table ${where}: it ${kindOf}, which ferry cannot migrate (leave it out with spec.tables.exclude)`,
      );
    if (rt.temporalType === 2)
      unsupported(
        schema,
        'system versioning',
        t,
        'the table migrates as a plain table: its history and period are not kept',
      );
    if (rt.comment)
      objects.comments.push({ target: `TABLE ${quoteIdent(t)}`, key: `table ${t}`, text: rt.comment });

    const rawColumns = raw.columns.filter((c) => c.schema === schema && c.table === t);
    const sequenceName = (s: string | null, q: string) => {
      const from = s ?? schema;
      if (!migratedSequences.has(`${from}\0${q}`)) return undefined;
      return from === schema ? quoteIdent(q) : qualified(targetOf.get(from)!, q);
    };
    const mapped = rawColumns.flatMap((rc) => {
      const at = `column ${where}.${rc.name}`;
      if (tooLong(rc.name)) refused.push(`${at}: its name is longer than PostgreSQL's 63 bytes`);
      if (rc.columnSet) {
        unsupported(
          schema,
          'column set',
          `${t}.${rc.name}`,
          'it is not stored: the sparse columns it renders migrate',
        );
        return [];
      }
      try {
        let m = mapColumn(rc.type, { table: where, column: rc.name }, opts.typeMap);
        const range = rc.identity ? identityRange(rc.type) : undefined;
        if (rc.identity) {
          const integer = ['smallint', 'integer', 'bigint'].includes(m.type);
          if (!range || !(integer || m.type.startsWith('numeric'))) {
            refused.push(`${at}: an identity of type ${m.type} has no PostgreSQL identity type`);
            return [];
          }
          // PostgreSQL identities are integers: a decimal(p,0) identity becomes a bigint one.
          if (!integer) m = { ...m, type: 'bigint' };
        }
        return [{ rc, m, range, ref: columnRef(rc.type, m.encoding) }];
      } catch (e) {
        if (!(e instanceof TypeMapError)) throw e;
        refused.push(`${at}: ${e.message}`);
        return [];
      }
    });
    const refs = new Map(mapped.map(({ rc, ref }) => [rc.name, ref]));

    const columns: MssqlColumn[] = [];
    const identitySequences: Table['identitySequences'] = [];
    for (const { rc, m, range, ref } of mapped) {
      const what = `${t}.${rc.name}`;
      let generated: string | null = null;
      if (rc.computed) {
        try {
          const x = translateExpression(rc.computed.definition, refs);
          if (x.volatile)
            throw new ExpressionError(
              'it changes with the clock or by chance, and PostgreSQL computes generated columns immutably',
            );
          generated = x.sql;
        } catch (e) {
          if (!(e instanceof ExpressionError)) throw e;
          unsupported(
            schema,
            'computed column',
            what,
            `${rc.computed.definition}: ${e.message} (skipped: its values are copied into a plain column)`,
          );
        }
      }
      let def: string | null = null;
      if (rc.default !== null && generated === null) {
        try {
          def = translateDefault(rc.default, ref, sequenceName);
        } catch (e) {
          if (!(e instanceof ExpressionError)) throw e;
          unsupported(
            schema,
            'default',
            what,
            `${rc.default}: ${e.message} (skipped: the column has no default)`,
          );
        }
      }
      if (rc.identity && range) {
        const { seed, increment, lastValue } = rc.identity;
        identitySequences.push({
          column: rc.name,
          lastValue,
          isCalled: lastValue !== null,
          options: `START WITH ${seed} INCREMENT BY ${increment} MINVALUE ${range.min} MAXVALUE ${range.max}`,
        });
      }
      if (rc.comment)
        objects.comments.push({
          target: `COLUMN ${quoteIdent(t)}.${quoteIdent(rc.name)}`,
          key: `table ${t}`,
          text: rc.comment,
        });
      columns.push({
        name: rc.name,
        type: m.type,
        typeOid: 0,
        builtinType: false,
        notNull: !rc.nullable,
        default: def,
        identity: rc.identity ? 'd' : '',
        generated,
        collation: null,
        mssql: { type: rc.type, encoding: m.encoding },
      });
    }

    const constraints: Constraint[] = [];
    const indexes: Index[] = [];
    const parts = new Map<string, RawIndexColumn[]>();
    for (const p of raw.indexes.filter((i) => i.schema === schema && i.table === t))
      parts.set(p.index, [...(parts.get(p.index) ?? []), p]);
    const nullable = new Map(rawColumns.map((c) => [c.name, c.nullable]));
    let key: { name: string; columns: string[]; primary: boolean } | undefined;
    for (const [index, ps] of parts) {
      const first = ps[0]!;
      const what = `${index} on ${t}`;
      if (first.type > 2) {
        unsupported(schema, 'index', what, `${first.typeDesc.toLowerCase()} indexes are not migrated`);
        continue;
      }
      if (first.disabled) {
        unsupported(schema, 'index', what, 'it is disabled on the source');
        continue;
      }
      const keys = ps.filter((p) => !p.included).map((p) => p.column);
      const included = ps.filter((p) => p.included).map((p) => p.column);
      // SQL Server's unique keys hold one NULL at most; PostgreSQL's do so with NULLS NOT DISTINCT (15+).
      const nulls = first.unique && keys.some((c) => nullable.get(c) !== false) ? ' NULLS NOT DISTINCT' : '';
      let built: string;
      if (first.primaryKey || first.uniqueConstraint) {
        built = name(index);
        const k: Constraint = {
          name: built,
          kind: first.primaryKey ? 'p' : 'u',
          definition: `${first.primaryKey ? 'PRIMARY KEY' : `UNIQUE${nulls}`} (${cols(keys)})`,
          references: null,
        };
        if (first.primaryKey) constraints.unshift(k);
        else constraints.push(k);
      } else {
        let filter = '';
        if (first.filter !== null) {
          try {
            filter = ` WHERE (${translateCondition(first.filter, refs)})`;
          } catch (e) {
            if (!(e instanceof ExpressionError)) throw e;
            unsupported(schema, 'index', what, `filter ${first.filter}: ${e.message}`);
            continue;
          }
        }
        built = name(index);
        const list = ps
          .filter((p) => !p.included)
          .map((p) => `${quoteIdent(p.column)}${p.descending ? ' DESC' : ''}`);
        indexes.push({
          name: built,
          definition:
            `CREATE ${first.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(built)} ON ${quoteIdent(t)} USING btree (${list.join(', ')})` +
            (included.length ? ` INCLUDE (${cols(included)})` : '') +
            nulls +
            filter,
        });
      }
      // The key: the primary key, else the first unique, unfiltered index over NOT NULL columns.
      const usable = first.unique && first.filter === null && keys.every((c) => nullable.get(c) === false);
      if (first.primaryKey || (usable && !key))
        key = { name: built, columns: keys, primary: first.primaryKey };
    }

    for (const k of raw.checks.filter((c) => c.schema === schema && c.table === t)) {
      const what = `${k.name} on ${t}`;
      if (k.disabled) {
        unsupported(
          schema,
          'check constraint',
          what,
          'it is disabled on the source: rows need not satisfy it',
        );
        continue;
      }
      try {
        constraints.push({
          name: name(k.name),
          kind: 'c',
          definition: `CHECK (${translateCondition(k.definition, refs)})${k.notTrusted ? ' NOT VALID' : ''}`,
          references: null,
        });
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        unsupported(schema, 'check constraint', what, `${k.definition}: ${e.message}`);
      }
    }

    for (const fk of raw.foreignKeys.filter((f) => f.schema === schema && f.table === t)) {
      const what = `${fk.name} on ${t}`;
      const target = targetOf.get(fk.referencedSchema);
      if (target === undefined || !migrated.has(`${fk.referencedSchema}\0${fk.referencedTable}`)) {
        unsupported(
          schema,
          'foreign key',
          what,
          `it references ${fk.referencedSchema}.${fk.referencedTable}, which is not migrated`,
        );
        continue;
      }
      if (fk.disabled) {
        unsupported(schema, 'foreign key', what, 'it is disabled on the source: rows need not satisfy it');
        continue;
      }
      const own = fk.referencedSchema === schema;
      if (!own) uses.get(schema)!.add(fk.referencedSchema);
      constraints.push({
        name: name(fk.name),
        kind: 'f',
        definition:
          `FOREIGN KEY (${cols(fk.columns)}) REFERENCES ${own ? quoteIdent(fk.referencedTable) : qualified(target, fk.referencedTable)}` +
          `(${cols(fk.referencedColumns)}) ON UPDATE ${ACTIONS[fk.updateAction] ?? fk.updateAction} ON DELETE ${ACTIONS[fk.deleteAction] ?? fk.deleteAction}` +
          (fk.notTrusted ? ' NOT VALID' : ''),
        references: multi
          ? tableKey({ schema: fk.referencedSchema, name: fk.referencedTable })
          : fk.referencedTable,
      });
    }

    const pages = (p: string) => Number(p) * 8192;
    return {
      ...(multi ? { schema } : {}),
      name: t,
      columns,
      key: key?.columns ?? [],
      keyIsPrimary: key?.primary ?? false,
      keyName: key?.name ?? null,
      constraints,
      indexes,
      identitySequences,
      rowEstimate: Number(rt.rows),
      totalBytes: pages(rt.totalPages),
      heapBytes: pages(rt.dataPages),
      pages: 0,
    };
  });

  for (const o of raw.others)
    if (!(o.kind === 'trigger' && opts.ours?.(o.schema, o.name)))
      unsupported(
        o.schema,
        o.kind,
        o.table === null ? o.name : `${o.name} on ${o.table}`,
        `${o.kind}s of a SQL Server source are not migrated`,
      );

  const objectsOf = (schema: string) =>
    inventoryOnly(perSchema.get(schema)!.inventory, perSchema.get(schema)!.comments);
  const [first, ...rest] = opts.schemas.map((p) => p.source);
  if (first === undefined) throw new Error('internal: no schema to extract');
  return {
    catalog: {
      schema: first,
      serverVersion: versionNumber(raw.version),
      types: [],
      sequences,
      tables,
      objects: objectsOf(first),
      ...(multi
        ? {
            moreSchemas: rest.map((schema) => ({ schema, objects: objectsOf(schema) })),
            creationOrder: creationOrder([first, ...rest], uses),
          }
        : {}),
    },
    refused,
  };
}

/** `IN (@p1, @p2, ...)` for the schema list: names travel as parameters, never in the SQL text. */
const inSchemas = (schemas: readonly string[]) => `IN (${schemas.map((_, i) => `@p${i + 1}`).join(', ')})`;

const str = (v: unknown): string => String(v);
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const bool = (v: unknown): boolean => v === true || v === 1;

/** The server's major version, which decides the sys.* columns that exist. */
async function majorVersion(c: Pick<MssqlConnection, 'rows'>): Promise<{ version: string; major: number }> {
  const [r] = await c.rows("SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS v");
  const version = str(r!['v']);
  return { version, major: Number(version.split('.')[0]) };
}

/**
 * sys.* of the schemas. Numbers that may exceed a JS number's exact range (row counts, sql_variant
 * seeds and values) come as text (CONVERT to nvarchar). Needs no compatibility level: the schema list
 * is one parameter per schema.
 */
export async function readRawCatalog(
  c: Pick<MssqlConnection, 'rows'>,
  schemas: readonly string[],
): Promise<RawCatalog> {
  const { version, major } = await majorVersion(c);
  const params: Param[] = [...schemas];
  const q = (sql: string) => c.rows(sql, params);
  const inList = inSchemas(schemas);
  const described = (cls: string, major: string, minor: string) =>
    `LEFT JOIN sys.extended_properties d ON d.class = ${cls} AND d.major_id = ${major} AND d.minor_id = ${minor} AND d.name = N'MS_Description'`;
  const tables = await q(
    `SELECT s.name AS [schema], t.name AS name, t.temporal_type AS temporal, ${major >= 16 ? 't.ledger_type' : '0'} AS ledger,
            t.is_memory_optimized AS memory, t.is_filetable AS filetable, t.is_external AS external,
            ${major >= 14 ? 'CASE WHEN t.is_node = 1 OR t.is_edge = 1 THEN 1 ELSE 0 END' : '0'} AS graph,
            CONVERT(nvarchar(20), COALESCE((SELECT SUM(p.rows) FROM sys.partitions p
                                             WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)), 0)) AS [rows],
            CONVERT(nvarchar(20), COALESCE((SELECT SUM(a.total_pages) FROM sys.partitions p
                                              JOIN sys.allocation_units a ON a.container_id = p.partition_id
                                             WHERE p.object_id = t.object_id), 0)) AS total_pages,
            CONVERT(nvarchar(20), COALESCE((SELECT SUM(a.used_pages) FROM sys.partitions p
                                              JOIN sys.allocation_units a ON a.container_id = p.partition_id
                                             WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)), 0)) AS data_pages,
            CONVERT(nvarchar(4000), d.value) AS comment
       FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id
       ${described('1', 't.object_id', '0')}
      WHERE t.is_ms_shipped = 0 AND s.name ${inList}
      ORDER BY s.name, t.name`,
  );
  // Alias types resolve to their system type (sysname to nvarchar); CLR types keep their own name.
  const columns = await q(
    `SELECT s.name AS [schema], t.name AS tbl, c.name AS name, COALESCE(st.name, ut.name) AS type_name,
            CASE WHEN ut.is_user_defined = 1 THEN SCHEMA_NAME(ut.schema_id) + N'.' + ut.name END AS alias,
            c.max_length AS max_length, c.precision AS precision, c.scale AS scale, c.collation_name AS collation,
            CONVERT(int, COLLATIONPROPERTY(c.collation_name, 'CodePage')) AS code_page,
            c.is_nullable AS nullable, c.is_column_set AS column_set, c.is_identity AS is_identity,
            CONVERT(nvarchar(40), i.seed_value) AS seed, CONVERT(nvarchar(40), i.increment_value) AS increment,
            CONVERT(nvarchar(40), i.last_value) AS last_value,
            k.definition AS computed, k.is_persisted AS persisted, dc.definition AS def,
            CONVERT(nvarchar(4000), d.value) AS comment
       FROM sys.columns c
       JOIN sys.tables t ON t.object_id = c.object_id
       JOIN sys.schemas s ON s.schema_id = t.schema_id
       JOIN sys.types ut ON ut.user_type_id = c.user_type_id
       LEFT JOIN sys.types st ON st.user_type_id = ut.system_type_id AND ut.is_assembly_type = 0
       LEFT JOIN sys.identity_columns i ON i.object_id = c.object_id AND i.column_id = c.column_id
       LEFT JOIN sys.computed_columns k ON k.object_id = c.object_id AND k.column_id = c.column_id
       LEFT JOIN sys.default_constraints dc ON dc.object_id = c.default_object_id
       ${described('1', 'c.object_id', 'c.column_id')}
      WHERE t.is_ms_shipped = 0 AND s.name ${inList}
      ORDER BY s.name, t.name, c.column_id`,
  );
  // Key columns by key_ordinal, then included ones; a partitioned index's added partitioning column is neither.
  const indexes = await q(
    `SELECT s.name AS [schema], t.name AS tbl, i.name AS name, i.type AS type, i.type_desc AS type_desc,
            i.is_unique AS is_unique, i.is_primary_key AS pk, i.is_unique_constraint AS uq, i.is_disabled AS disabled,
            i.filter_definition AS filter, c.name AS col, ic.is_descending_key AS descending,
            ic.is_included_column AS included
       FROM sys.indexes i
       JOIN sys.tables t ON t.object_id = i.object_id
       JOIN sys.schemas s ON s.schema_id = t.schema_id
       JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
      WHERE t.is_ms_shipped = 0 AND i.type > 0 AND i.is_hypothetical = 0 AND s.name ${inList}
        AND (ic.key_ordinal > 0 OR ic.is_included_column = 1 OR i.type > 2)
      ORDER BY s.name, t.name, i.index_id, ic.is_included_column, ic.key_ordinal, ic.index_column_id`,
  );
  const checks = await q(
    `SELECT s.name AS [schema], t.name AS tbl, k.name AS name, k.definition AS definition,
            k.is_disabled AS disabled, k.is_not_trusted AS not_trusted
       FROM sys.check_constraints k
       JOIN sys.tables t ON t.object_id = k.parent_object_id
       JOIN sys.schemas s ON s.schema_id = t.schema_id
      WHERE s.name ${inList}
      ORDER BY s.name, t.name, k.name`,
  );
  const fkParts = await q(
    `SELECT s.name AS [schema], t.name AS tbl, f.name AS name, rs.name AS ref_schema, rt.name AS ref_table,
            pc.name AS col, rc.name AS ref_col, f.delete_referential_action_desc AS del,
            f.update_referential_action_desc AS upd, f.is_disabled AS disabled, f.is_not_trusted AS not_trusted
       FROM sys.foreign_keys f
       JOIN sys.tables t ON t.object_id = f.parent_object_id
       JOIN sys.schemas s ON s.schema_id = t.schema_id
       JOIN sys.objects rt ON rt.object_id = f.referenced_object_id
       JOIN sys.schemas rs ON rs.schema_id = rt.schema_id
       JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = f.object_id
       JOIN sys.columns pc ON pc.object_id = fc.parent_object_id AND pc.column_id = fc.parent_column_id
       JOIN sys.columns rc ON rc.object_id = fc.referenced_object_id AND rc.column_id = fc.referenced_column_id
      WHERE s.name ${inList}
      ORDER BY s.name, t.name, f.name, fc.constraint_column_id`,
  );
  const sequences = await q(sequencesSql(major, inList));
  const others = await q(
    `SELECT s.name AS [schema],
            CASE o.type WHEN 'V' THEN N'view' WHEN 'P' THEN N'procedure' WHEN 'PC' THEN N'procedure'
                        WHEN 'TR' THEN N'trigger' WHEN 'SN' THEN N'synonym' WHEN 'AF' THEN N'aggregate'
                        ELSE N'function' END AS kind,
            o.name AS name, OBJECT_NAME(o.parent_object_id) AS tbl
       FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id
      WHERE o.is_ms_shipped = 0 AND o.type IN ('V', 'P', 'PC', 'FN', 'IF', 'TF', 'FS', 'FT', 'TR', 'SN', 'AF')
        AND s.name ${inList}
     UNION ALL
     SELECT s.name, N'full-text index', N'full-text index', t.name
       FROM sys.fulltext_indexes f
       JOIN sys.tables t ON t.object_id = f.object_id
       JOIN sys.schemas s ON s.schema_id = t.schema_id
      WHERE s.name ${inList}`,
  );

  const foreignKeys = new Map<string, RawForeignKey>();
  for (const p of fkParts) {
    const id = `${str(p['schema'])}\0${str(p['tbl'])}\0${str(p['name'])}`;
    let fk = foreignKeys.get(id);
    if (!fk) {
      fk = {
        schema: str(p['schema']),
        table: str(p['tbl']),
        name: str(p['name']),
        referencedSchema: str(p['ref_schema']),
        referencedTable: str(p['ref_table']),
        columns: [],
        referencedColumns: [],
        deleteAction: str(p['del']),
        updateAction: str(p['upd']),
        disabled: bool(p['disabled']),
        notTrusted: bool(p['not_trusted']),
      };
      foreignKeys.set(id, fk);
    }
    fk.columns.push(str(p['col']));
    fk.referencedColumns.push(str(p['ref_col']));
  }
  return {
    version,
    tables: tables.map((r) => ({
      schema: str(r['schema']),
      name: str(r['name']),
      temporalType: Number(r['temporal']),
      ledgerType: Number(r['ledger']),
      memoryOptimized: bool(r['memory']),
      fileTable: bool(r['filetable']),
      external: bool(r['external']),
      graph: bool(r['graph']),
      rows: str(r['rows']),
      totalPages: str(r['total_pages']),
      dataPages: str(r['data_pages']),
      comment: optStr(r['comment']),
    })),
    columns: columns.map((r) => ({
      schema: str(r['schema']),
      table: str(r['tbl']),
      name: str(r['name']),
      type: {
        name: str(r['type_name']),
        alias: optStr(r['alias']),
        maxLength: Number(r['max_length']),
        precision: Number(r['precision']),
        scale: Number(r['scale']),
        collation: optStr(r['collation']),
        codePage: r['code_page'] === null || r['code_page'] === undefined ? null : Number(r['code_page']),
      },
      nullable: bool(r['nullable']),
      identity: bool(r['is_identity'])
        ? { seed: str(r['seed']), increment: str(r['increment']), lastValue: optStr(r['last_value']) }
        : null,
      computed:
        r['computed'] == null ? null : { definition: str(r['computed']), persisted: bool(r['persisted']) },
      default: optStr(r['def']),
      columnSet: bool(r['column_set']),
      comment: optStr(r['comment']),
    })),
    indexes: indexes.map((r) => ({
      schema: str(r['schema']),
      table: str(r['tbl']),
      index: str(r['name']),
      type: Number(r['type']),
      typeDesc: str(r['type_desc']),
      unique: bool(r['is_unique']),
      primaryKey: bool(r['pk']),
      uniqueConstraint: bool(r['uq']),
      disabled: bool(r['disabled']),
      filter: optStr(r['filter']),
      column: str(r['col']),
      descending: bool(r['descending']),
      included: bool(r['included']),
    })),
    checks: checks.map((r) => ({
      schema: str(r['schema']),
      table: str(r['tbl']),
      name: str(r['name']),
      definition: str(r['definition']),
      disabled: bool(r['disabled']),
      notTrusted: bool(r['not_trusted']),
    })),
    foreignKeys: [...foreignKeys.values()],
    sequences: sequences.map((r) => rawSequence(r, major)),
    others: others.map((r) => ({
      schema: str(r['schema']),
      kind: str(r['kind']),
      name: str(r['name']),
      table: r['kind'] === 'trigger' || r['kind'] === 'full-text index' ? optStr(r['tbl']) : null,
    })),
  };
}

/** sys.sequences of the schemas; last_used_value exists from SQL Server 2017 (14.x). */
function sequencesSql(major: number, inList: string): string {
  return `SELECT s.name AS [schema], q.name AS name, TYPE_NAME(q.system_type_id) AS type,
                 CONVERT(nvarchar(40), q.start_value) AS start, CONVERT(nvarchar(40), q.increment) AS increment,
                 CONVERT(nvarchar(40), q.minimum_value) AS minimum, CONVERT(nvarchar(40), q.maximum_value) AS maximum,
                 q.is_cycling AS cycle, CONVERT(nvarchar(40), q.current_value) AS [current],
                 ${major >= 14 ? 'CONVERT(nvarchar(40), q.last_used_value)' : 'NULL'} AS last_used
            FROM sys.sequences q JOIN sys.schemas s ON s.schema_id = q.schema_id
           WHERE s.name ${inList}
           ORDER BY s.name, q.name`;
}

function rawSequence(r: Record<string, unknown>, major: number): RawSequence {
  return {
    schema: str(r['schema']),
    name: str(r['name']),
    type: str(r['type']),
    start: str(r['start']),
    increment: str(r['increment']),
    minimum: str(r['minimum']),
    maximum: str(r['maximum']),
    cycle: bool(r['cycle']),
    current: str(r['current']),
    ...(major >= 14 ? { lastUsed: optStr(r['last_used']) } : {}),
  };
}

/** Identity columns' last values and sequences' states, read again at cutover (SourceDialect.refreshSequences). */
export interface SequenceStates {
  /** `schema\0table\0column` → last_value (null before the first row). */
  identities: Map<string, string | null>;
  /** `schema\0sequence` → state. */
  sequences: Map<string, { lastValue: string | null; isCalled: boolean }>;
}

export async function readSequenceStates(
  c: Pick<MssqlConnection, 'rows'>,
  schemas: readonly string[],
): Promise<SequenceStates> {
  const { major } = await majorVersion(c);
  const inList = inSchemas(schemas);
  const ids = await c.rows(
    `SELECT s.name AS [schema], t.name AS tbl, i.name AS col, CONVERT(nvarchar(40), i.last_value) AS last_value
       FROM sys.identity_columns i
       JOIN sys.tables t ON t.object_id = i.object_id
       JOIN sys.schemas s ON s.schema_id = t.schema_id
      WHERE s.name ${inList}`,
    [...schemas],
  );
  const seqs = await c.rows(sequencesSql(major, inList), [...schemas]);
  return {
    identities: new Map(
      ids.map((r) => [`${str(r['schema'])}\0${str(r['tbl'])}\0${str(r['col'])}`, optStr(r['last_value'])]),
    ),
    sequences: new Map(
      seqs.map((r) => {
        const q = rawSequence(r, major);
        return [`${q.schema}\0${q.name}`, sequenceState(q)];
      }),
    ),
  };
}

/** The catalog with the identities' and sequences' states replaced by `states`. Pure. */
export function withSequenceStates(catalog: Catalog, states: SequenceStates): Catalog {
  const schemaOf = (o: { schema?: string }) => o.schema ?? catalog.schema;
  return {
    ...catalog,
    sequences: catalog.sequences.map((q) => ({
      ...q,
      ...(states.sequences.get(`${schemaOf(q)}\0${q.name}`) ?? {}),
    })),
    tables: catalog.tables.map((t) => ({
      ...t,
      identitySequences: t.identitySequences.map((s) => {
        const last = states.identities.get(`${schemaOf(t)}\0${t.name}\0${s.column}`);
        return last === undefined ? s : { ...s, lastValue: last, isCalled: last !== null };
      }),
    })),
  };
}
