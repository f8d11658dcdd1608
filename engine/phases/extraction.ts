// Extraction: read the source catalog of the selected tables. Read-only.
import { droppedForeignKeys } from '../catalog/ddl.ts';
import { extractCatalog, extractSchemas } from '../catalog/extract.ts';
import { tableKey } from '../catalog/schemas.ts';
import { UnreadableSequences } from '../catalog/sequences.ts';
import { withClient, type Client } from '../db/connect.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { partitionRoots, selectTables, type TreeNode } from '../plan/select.ts';
import { multiSchema, type Settings } from '../api/settings.ts';
import type { Context } from './context.ts';
import { privilegeError, sequenceNeeds } from './privileges.ts';

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

export async function extraction(ctx: Context): Promise<void> {
  const s = ctx.settings;
  const catalog = await withClient(ctx.source, 'extract', async (c) => {
    try {
      if (multiSchema(s)) return await extractSchemas(c, s.schemas, await selectedBySchema(c, s));
      return await extractCatalog(c, s.source.schema, await selectedTables(c, s));
    } catch (err) {
      // Which sequences migrate is known only here, where their values are read (Preparation checked the rest).
      if (!(err instanceof UnreadableSequences)) throw err;
      throw privilegeError([await missingGrantsOn(c, ctx.source, sequenceNeeds(err.sequences))]) ?? err;
    }
  });
  ctx.catalog = catalog;
  const dropped = droppedForeignKeys(catalog);
  if (dropped.length)
    ctx.log.warn(
      { foreignKeys: dropped },
      'foreign keys that reference tables outside the selection will not be created on the target',
    );
  const bytes = catalog.tables.reduce((a, t) => a + t.totalBytes, 0);
  ctx.log.info({ tables: catalog.tables.length, bytes }, 'source catalog read');
}
