// Extraction: read the source catalog of the selected tables. Read-only.
import { extractCatalog } from '../catalog/extract.ts';
import { withClient, type Client } from '../db/connect.ts';
import { selectTables } from '../plan/select.ts';
import type { Context } from './context.ts';

export async function listTables(c: Client, schema: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

export async function extraction(ctx: Context): Promise<void> {
  const s = ctx.settings;
  const catalog = await withClient(ctx.source, 'extract', async (c) => {
    const tables = selectTables(await listTables(c, s.source.schema), s.include, s.exclude);
    return extractCatalog(c, s.source.schema, tables);
  });
  ctx.catalog = catalog;
  const bytes = catalog.tables.reduce((a, t) => a + t.totalBytes, 0);
  ctx.log.info({ tables: catalog.tables.length, bytes }, 'source catalog read');
}
