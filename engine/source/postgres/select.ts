// Which tables of a PostgreSQL source the manifest selects (plan/select.ts decides from names).
import { tableKey } from '../../catalog/schemas.ts';
import type { Client } from '../../db/connect.ts';
import { partitionRoots, selectTables, type TreeNode } from '../../plan/select.ts';
import { multiSchema, type Settings } from '../../api/settings.ts';

/**
 * The schema's tables (plain, partitioned, partitions) with their partition parents in the schema (a
 * partition of another schema's table counts as a table here; extraction refuses it, naming why).
 */
export async function listTables(c: Client, schema: string): Promise<TreeNode[]> {
  const { rows } = await c.query<{ name: string; parent: string | null }>(
    `SELECT c.relname AS name,
            CASE WHEN c.relispartition THEN (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                                              WHERE i.inhrelid = c.oid AND p.relnamespace = c.relnamespace) END AS parent
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => (r.parent === null ? { name: r.name } : { name: r.name, partitionOf: r.parent }));
}

/** The tables the manifest selects: its patterns choose among tables that are not partitions, and each root brings its partitions. */
export async function selectedTables(c: Client, s: Settings): Promise<string[]> {
  if (multiSchema(s)) return [...(await selectedBySchema(c, s)).values()].flat();
  const nodes = await listTables(c, s.source.schema);
  return selectTables(
    nodes.filter((n) => n.partitionOf === undefined).map((n) => n.name),
    s.include,
    s.exclude,
    partitionRoots(nodes),
  );
}

/**
 * Several schemas: the selected table names of each source schema. The patterns see every table as
 * `schema.table` (see select.ts).
 */
export async function selectedBySchema(c: Client, s: Settings): Promise<Map<string, string[]>> {
  const nodes: TreeNode[] = [];
  const where = new Map<string, { schema: string; name: string }>();
  for (const { source } of s.schemas)
    for (const n of await listTables(c, source)) {
      const key = tableKey({ schema: source, name: n.name });
      where.set(key, { schema: source, name: n.name });
      nodes.push({
        name: key,
        ...(n.partitionOf ? { partitionOf: tableKey({ schema: source, name: n.partitionOf }) } : {}),
      });
    }
  const chosen = selectTables(
    nodes.filter((n) => n.partitionOf === undefined).map((n) => n.name),
    s.include,
    s.exclude,
    partitionRoots(nodes),
    true,
  );
  const out = new Map(s.schemas.map((p) => [p.source, [] as string[]]));
  for (const key of chosen) out.get(where.get(key)!.schema)!.push(where.get(key)!.name);
  return out;
}
