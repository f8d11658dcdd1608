// Whether two catalogs describe the same objects: the source's and the target's after ferry rebuilt
// it (under another schema name or server version). Pure. Sizes, statistics and oids are not
// compared; definitions are, as both servers render them. Each difference names the object at fault.
import { quoteIdent } from '../db/ident.ts';
import type { Catalog } from './types.ts';

export interface DiffOptions {
  /** Also compare sequences' last_value/is_called (true after ferry set them). */
  sequenceValues?: boolean;
}

/** The catalog as a flat map: object path -> comparable description. */
function flatten(catalog: Catalog, opts: DiffOptions): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const values = (s: { lastValue: string | null; isCalled: boolean }) =>
    opts.sequenceValues ? { lastValue: s.lastValue, isCalled: s.isCalled } : {};
  for (const t of catalog.types) out.set(`type ${quoteIdent(t.name)}`, { definition: t.definition });
  for (const s of catalog.sequences)
    out.set(`sequence ${quoteIdent(s.name)}`, {
      options: s.options,
      ownedBy: s.ownedBy ? `${quoteIdent(s.ownedBy.table)}.${quoteIdent(s.ownedBy.column)}` : null,
      ...values(s),
    });
  for (const t of catalog.tables) {
    const table = `table ${quoteIdent(t.name)}`;
    out.set(table, {
      columns: t.columns.map((c) => c.name).join(', '),
      partitionBy: t.partitionBy ?? null,
      partitionOf: t.partitionOf ?? null,
      inherits: t.inherits ?? [],
    });
    out.set(`${table} key`, {
      key: t.key.join(', '),
      keyIsPrimary: t.keyIsPrimary,
      keyName: t.keyName ?? null,
    });
    for (const { typeOid: _oid, name, identity, ...c } of t.columns)
      out.set(`${table} column ${quoteIdent(name)}`, {
        ...c,
        virtual: c.virtual ?? false,
        // A partition's identity is its root's: PostgreSQL 17+ shows it on the partition, older ones do not.
        ...(t.partitionOf ? {} : { identity }),
      });
    for (const { name, ...k } of t.constraints) out.set(`${table} constraint ${quoteIdent(name)}`, k);
    for (const i of t.indexes) out.set(`${table} index ${quoteIdent(i.name)}`, { definition: i.definition });
    for (const s of t.identitySequences)
      out.set(`${table} identity ${quoteIdent(s.column)}`, {
        sequence: s.sequence ?? null,
        options: s.options ?? null,
        ...values(s),
      });
  }
  return out;
}

const show = (v: unknown) => JSON.stringify(v);

/**
 * Every difference between `expected` (the source) and `actual` (the target), one line each, e.g.
 * `table "Order" column "select": type: expected "text", actual "character varying(10)"`.
 * Empty when equivalent.
 */
export function catalogDifferences(expected: Catalog, actual: Catalog, opts: DiffOptions = {}): string[] {
  const a = flatten(expected, opts);
  const b = flatten(actual, opts);
  const out: string[] = [];
  for (const [path, want] of a) {
    const got = b.get(path);
    if (!got) {
      out.push(`${path}: missing`);
      continue;
    }
    for (const field of new Set([...Object.keys(want), ...Object.keys(got)]))
      if (show(want[field]) !== show(got[field]))
        out.push(`${path}: ${field}: expected ${show(want[field])}, actual ${show(got[field])}`);
  }
  for (const path of b.keys()) if (!a.has(path)) out.push(`${path}: unexpected`);
  return out;
}
