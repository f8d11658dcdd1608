// Which tables move: include globs, then exclude globs, over the source schema's table names. The
// patterns choose among tables that are not partitions: a partition follows its partitioned table.
// Several schemas (spec.schemas): tables are named `schema.table`; a pattern with a dot matches that
// whole name (`sales.order*`, `*.audit`), a pattern without one matches the table name in every schema.
import picomatch from 'picomatch';
import { quoteIdent } from '../db/ident.ts';

export class SelectionError extends Error {
  override name = 'SelectionError';
}

/** `qualified`: names are `schema.table`, and a pattern without a dot addresses the table name in any schema. */
const matcher = (pattern: string, qualified = false) => {
  const m = picomatch(qualified && !pattern.includes('.') ? `*.${pattern}` : pattern, { dot: true });
  return (name: string) => m(name);
};

/**
 * `available` are the tables that are not partitions; `partitions` maps each partition to its root,
 * so that a pattern naming only partitions, or excluding a partition of a selected root, is refused
 * with the reason instead of silently moving less or more than asked.
 */
export function selectTables(
  available: readonly string[],
  include: readonly string[],
  exclude: readonly string[],
  partitions: ReadonlyMap<string, string> = new Map(),
  qualified = false,
): string[] {
  const matcher_ = (p: string) => matcher(p, qualified);
  for (const pattern of include) {
    const m = matcher_(pattern);
    if (available.some(m)) continue;
    const parts = [...partitions].filter(([p]) => m(p));
    if (parts.length)
      throw new SelectionError(
        `spec.tables.include: pattern ${JSON.stringify(pattern)} matches only partitions (${parts
          .map(([p, root]) => `${quoteIdent(p)} of ${quoteIdent(root)}`)
          .join(', ')}); a partition moves with its partitioned table: include its root`,
      );
    throw new SelectionError(
      `spec.tables.include: pattern ${JSON.stringify(pattern)} matches no table` +
        (available.length ? ` (the schema has: ${preview(available)})` : ' (the schema has no tables)'),
    );
  }
  const inc = include.map(matcher_);
  const exc = exclude.map(matcher_);
  const chosen = available.filter((t) => inc.some((m) => m(t)) && !exc.some((m) => m(t)));
  const selected = new Set(chosen);
  for (const pattern of exclude) {
    const m = matcher_(pattern);
    const parts = [...partitions].filter(([p, root]) => m(p) && selected.has(root));
    if (parts.length)
      throw new SelectionError(
        `spec.tables.exclude: pattern ${JSON.stringify(pattern)} excludes ${parts
          .map(([p, root]) => `partition ${quoteIdent(p)} of ${quoteIdent(root)}`)
          .join(', ')}; a partitioned table moves whole: exclude its root, or nothing of it`,
      );
  }
  if (chosen.length === 0)
    throw new SelectionError('spec.tables: the include and exclude patterns leave no table to migrate');
  return chosen;
}

export function matchesAny(name: string, patterns: readonly string[], qualified = false): boolean {
  return patterns.some((p) => matcher(p, qualified)(name));
}

function preview(names: readonly string[]): string {
  const shown = names.slice(0, 10).join(', ');
  return names.length > 10 ? `${shown}, … ${names.length - 10} more` : shown;
}

/** A table's place in the schema's partition and inheritance trees (names within the schema). */
export interface TreeNode {
  name: string;
  /** The partition's parent. */
  partitionOf?: string;
  /** Inheritance parents. */
  inherits?: readonly string[];
}

/** Each partition's root (the top of its partition tree). */
export function partitionRoots(nodes: readonly TreeNode[]): Map<string, string> {
  const parent = new Map(nodes.flatMap((n) => (n.partitionOf ? [[n.name, n.partitionOf] as const] : [])));
  const rootOf = (name: string): string => {
    const p = parent.get(name);
    return p === undefined ? name : rootOf(p);
  };
  return new Map([...parent.keys()].map((p) => [p, rootOf(p)]));
}

/**
 * The named tables with the whole partition tree of each named partitioned table: a partition moves
 * with its root and cannot be named alone. An inheritance child moves like a table of its own, but
 * never without its parents nor a parent without its children (the target rebuilds the tree whole).
 * Throws one SelectionError naming every problem.
 */
export function completeTrees(nodes: readonly TreeNode[], named: readonly string[]): string[] {
  const roots = partitionRoots(nodes);
  const problems: string[] = [];
  for (const n of named) {
    const root = roots.get(n);
    if (root !== undefined)
      problems.push(
        `table ${quoteIdent(n)} is a partition of ${quoteIdent(root)}: a partition moves with its partitioned table; select ${quoteIdent(root)}`,
      );
  }
  const chosen = new Set(named);
  const out = [...named];
  for (const n of nodes)
    if (!chosen.has(n.name) && chosen.has(roots.get(n.name) ?? '')) {
      chosen.add(n.name);
      out.push(n.name);
    }
  for (const n of nodes)
    for (const p of n.inherits ?? []) {
      if (chosen.has(n.name) && !chosen.has(p))
        problems.push(
          `table ${quoteIdent(n.name)} inherits from ${quoteIdent(p)}, which is not selected: select both or neither`,
        );
      if (chosen.has(p) && !chosen.has(n.name))
        problems.push(
          `table ${quoteIdent(p)} is selected but its inheritance child ${quoteIdent(n.name)} is not: select both or neither`,
        );
    }
  if (problems.length) throw new SelectionError(problems.join('; '));
  return out;
}
