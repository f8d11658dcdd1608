// Which tables move: include globs, then exclude globs, over the source schema's table names.
import picomatch from 'picomatch';

export class SelectionError extends Error {
  override name = 'SelectionError';
}

const matcher = (pattern: string) => {
  const m = picomatch(pattern, { dot: true });
  return (name: string) => m(name);
};

export function selectTables(
  available: readonly string[],
  include: readonly string[],
  exclude: readonly string[],
): string[] {
  for (const pattern of include) {
    if (!available.some(matcher(pattern)))
      throw new SelectionError(
        `spec.tables.include: pattern ${JSON.stringify(pattern)} matches no table` +
          (available.length ? ` (the schema has: ${preview(available)})` : ' (the schema has no tables)'),
      );
  }
  const inc = include.map(matcher);
  const exc = exclude.map(matcher);
  const chosen = available.filter((t) => inc.some((m) => m(t)) && !exc.some((m) => m(t)));
  if (chosen.length === 0)
    throw new SelectionError('spec.tables: the include and exclude patterns leave no table to migrate');
  return chosen;
}

export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => matcher(p)(name));
}

function preview(names: readonly string[]): string {
  const shown = names.slice(0, 10).join(', ');
  return names.length > 10 ? `${shown}, … ${names.length - 10} more` : shown;
}
