// What the catalog asks of the target server's version: definitions the source renders with syntax
// an older PostgreSQL does not have would fail the build late in Execution, so Checks refuses them up
// front, naming each. Pure.
import { tableKey } from '../catalog/schemas.ts';
import type { Catalog } from '../catalog/types.ts';

interface Feature {
  /** The first PostgreSQL major version that has it. */
  since: number;
  /** What the definition reads like when it uses it. */
  pattern: RegExp;
  what: string;
}

const FEATURES: Feature[] = [
  { since: 15, pattern: /\bNULLS\s+NOT\s+DISTINCT\b/i, what: 'NULLS NOT DISTINCT (PostgreSQL 15)' },
];

/** The constraints and indexes a target of that major version cannot create, one message each. */
export function targetVersionProblems(catalog: Catalog, targetMajor: number): string[] {
  const problems: string[] = [];
  for (const f of FEATURES) {
    if (targetMajor >= f.since) continue;
    for (const t of catalog.tables)
      for (const d of [...t.constraints, ...t.indexes])
        if (f.pattern.test(d.definition))
          problems.push(
            `${tableKey(t)}: ${d.name} uses ${f.what}, which the target's PostgreSQL ${targetMajor} does not have`,
          );
  }
  return problems;
}
