// Extraction: read the source catalog of the selected tables. Read-only.
import { droppedForeignKeys } from '../catalog/ddl.ts';
import type { Context } from './context.ts';

export async function extraction(ctx: Context): Promise<void> {
  const catalog = await ctx.source.extract();
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
