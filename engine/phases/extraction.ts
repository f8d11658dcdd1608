// Extraction: read the source catalog of the selected tables. Read-only.
import { droppedForeignKeys } from '../catalog/ddl.ts';
import { extractCatalog } from '../catalog/extract.ts';
import { UnreadableSequences } from '../catalog/sequences.ts';
import { withClient, type Client } from '../db/connect.ts';
import { missingGrantsOn } from '../db/privileges.ts';
import { selectTables } from '../plan/select.ts';
import type { Context } from './context.ts';
import { privilegeError, sequenceNeeds } from './privileges.ts';

export async function listTables(c: Client, schema: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
      ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

export async function extraction(ctx: Context): Promise<void> {
  const s = ctx.settings;
  const catalog = await withClient(ctx.source, 'extract', async (c) => {
    const tables = selectTables(await listTables(c, s.source.schema), s.include, s.exclude);
    try {
      return await extractCatalog(c, s.source.schema, tables);
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
