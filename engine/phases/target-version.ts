// What the catalog asks of the target server's version: definitions the source renders with syntax
// an older PostgreSQL does not have would fail the build late in Execution, so Checks refuses them up
// front, naming each. Pure.
import { tableKey } from '../catalog/schemas.ts';
import type { Catalog } from '../catalog/types.ts';

interface Feature {
  /** The first server_version_num that has it. */
  since: number;
  /** What the definition reads like when it uses it. */
  pattern: RegExp;
  what: string;
}

const FEATURES: Feature[] = [
  { since: 150000, pattern: /\bNULLS\s+NOT\s+DISTINCT\b/i, what: 'NULLS NOT DISTINCT (PostgreSQL 15)' },
];

const major = (versionNum: number) =>
  versionNum >= 100000 ? String(Math.floor(versionNum / 10000)) : (versionNum / 10000).toFixed(1);

/** The constraints and indexes the target of that version cannot create, one message each. */
export function targetVersionProblems(catalog: Catalog, targetVersion: number): string[] {
  const problems: string[] = [];
  for (const f of FEATURES) {
    if (targetVersion >= f.since) continue;
    for (const t of catalog.tables)
      for (const d of [...t.constraints, ...t.indexes])
        if (f.pattern.test(d.definition))
          problems.push(
            `${tableKey(t)}: ${d.name} uses ${f.what}, which the target's PostgreSQL ${major(targetVersion)} does not have`,
          );
  }
  return problems;
}
