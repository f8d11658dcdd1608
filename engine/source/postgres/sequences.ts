// Sequences: the serial and free-standing ones of the schema, the identity columns' ones, their
// options as CREATE SEQUENCE renders them, and their current values. Sequence values are not
// transactional, so they are read last and re-read at the cutover (refreshSequences).
import type pg from 'pg';
import { qualified } from '../../db/ident.ts';
import type { IdentitySequence, Sequence } from '../../catalog/types.ts';

/** pg_sequence as text: bigint values do not fit a JavaScript number. */
interface OptionsRow {
  type: string;
  inc: string;
  min: string;
  max: string;
  start: string;
  cache: string;
  cycle: boolean;
}

const OPTION_COLUMNS = `format_type(q.seqtypid, NULL) AS type, q.seqincrement::text AS inc, q.seqmin::text AS min,
  q.seqmax::text AS max, q.seqstart::text AS start, q.seqcache::text AS cache, q.seqcycle AS cycle`;

/** Every option, so the target does not depend on defaults (which follow AS type and INCREMENT sign). */
export function sequenceOptions(r: OptionsRow, withType: boolean): string {
  return (
    (withType ? `AS ${r.type} ` : '') +
    `INCREMENT BY ${r.inc} MINVALUE ${r.min} MAXVALUE ${r.max} START WITH ${r.start} CACHE ${r.cache}` +
    (r.cycle ? ' CYCLE' : ' NO CYCLE')
  );
}

type SequenceState = { lastValue: string; isCalled: boolean };

/** Sequences whose values the current user may not read: raised before any is read, so the caller can name the GRANTs. */
export class UnreadableSequences extends Error {
  override name = 'UnreadableSequences';
  readonly sequences: { schema: string; name: string }[];
  constructor(sequences: { schema: string; name: string }[]) {
    super(`permission denied for sequence ${sequences.map((s) => `${s.schema}.${s.name}`).join(', ')}`);
    this.sequences = sequences;
  }
}

/** last_value and is_called of each sequence (qualified, quoted names), in one round trip once all are known readable. */
export async function sequenceStates(c: pg.ClientBase, names: string[]): Promise<SequenceState[]> {
  if (names.length === 0) return [];
  const { rows: denied } = await c.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, s.relname AS name FROM unnest($1::text[]) q(seq)
       JOIN pg_class s ON s.oid = q.seq::regclass JOIN pg_namespace n ON n.oid = s.relnamespace
      WHERE NOT has_sequence_privilege(q.seq, 'SELECT')`,
    [names],
  );
  if (denied.length) throw new UnreadableSequences(denied);
  const { rows } = await c.query<{ i: number; last: string; called: boolean }>(
    names
      .map((n, i) => `SELECT ${i} AS i, last_value::text AS last, is_called AS called FROM ${n}`)
      .join(' UNION ALL '),
  );
  const byIndex = new Map(rows.map((r) => [r.i, { lastValue: r.last, isCalled: r.called }]));
  return names.map((n, i) => {
    const s = byIndex.get(i);
    if (!s) throw new Error(`sequence ${n} returned no row`);
    return s;
  });
}

interface SequenceRow extends OptionsRow {
  name: string;
  owner_rel: number | null;
  owner_table: string | null;
  owner_column: string | null;
  used: boolean;
}

/**
 * Serial and free-standing sequences of the schema: those owned by a selected table, those a selected
 * table's default uses, and every sequence owned by no table (the application may use it directly).
 * Sequences owned by tables left out of the selection stay behind; identity sequences travel with
 * their column.
 */
export async function schemaSequences(c: pg.ClientBase, schema: string, rels: number[]): Promise<Sequence[]> {
  const { rows } = await c.query<SequenceRow>(
    `SELECT s.relname AS name, ${OPTION_COLUMNS},
            own.rel AS owner_rel, own.relname AS owner_table, own.attname AS owner_column,
            EXISTS (SELECT 1 FROM pg_depend u JOIN pg_attrdef ad ON ad.oid = u.objid
                     WHERE u.classid = 'pg_attrdef'::regclass AND u.refclassid = 'pg_class'::regclass
                       AND u.refobjid = s.oid AND ad.adrelid = ANY($2)) AS used
       FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace JOIN pg_sequence q ON q.seqrelid = s.oid
       LEFT JOIN LATERAL (
         SELECT o.oid::int AS rel, o.relname, a.attname
           FROM pg_depend d JOIN pg_class o ON o.oid = d.refobjid
           JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass
            AND d.deptype = 'a' LIMIT 1) own ON true
      WHERE n.nspname = $1 AND s.relkind = 'S'
        AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_class'::regclass AND i.objid = s.oid
                          AND i.deptype = 'i')
      ORDER BY s.relname`,
    [schema, rels],
  );
  const selected = new Set(rels);
  const kept = rows.filter((r) => r.owner_rel === null || selected.has(r.owner_rel) || r.used);
  const states = await sequenceStates(
    c,
    kept.map((r) => qualified(schema, r.name)),
  );
  return kept.map((r, i) => ({
    name: r.name,
    options: sequenceOptions(r, true),
    ...states[i]!,
    // A sequence owned by a table that is not migrated is recreated unowned.
    ownedBy:
      r.owner_rel !== null && selected.has(r.owner_rel)
        ? { table: r.owner_table!, column: r.owner_column! }
        : null,
  }));
}

interface IdentityRow extends OptionsRow {
  rel: number;
  column: string;
  nsp: string;
  name: string;
}

/** The identity sequences of the given tables, keyed by table oid, in column order. */
export async function identitySequences(
  c: pg.ClientBase,
  rels: number[],
): Promise<Map<number, IdentitySequence[]>> {
  const { rows } = await c.query<IdentityRow>(
    `SELECT d.refobjid::int AS rel, a.attname AS column, n.nspname AS nsp, s.relname AS name, ${OPTION_COLUMNS}
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_namespace n ON n.oid = s.relnamespace
       JOIN pg_sequence q ON q.seqrelid = s.oid
       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
        AND d.refobjid = ANY($1) AND a.attidentity <> ''
      ORDER BY d.refobjid, a.attnum`,
    [rels],
  );
  const states = await sequenceStates(
    c,
    rows.map((r) => qualified(r.nsp, r.name)),
  );
  const out = new Map<number, IdentitySequence[]>();
  rows.forEach((r, i) => {
    const list = out.get(r.rel) ?? [];
    list.push({ column: r.column, sequence: r.name, options: sequenceOptions(r, false), ...states[i]! });
    out.set(r.rel, list);
  });
  return out;
}
