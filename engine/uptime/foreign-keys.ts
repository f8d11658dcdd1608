// Foreign keys between uptime tables, built in uptime where the target role may set
// session_replication_role. The replay's target session then applies changes as logical replication
// does, with the target's foreign keys not firing: its deletes are neither refused nor cascaded, and
// each batch leaves the target equal to the source at one instant, where the keys hold. Built inside
// a batch (at that instant), they take their scan out of the downtime. Without the setting, or once
// the role lost it, no foreign key may stand during the replay: they wait for the cutover.
import type { PostLoadStep } from '../catalog/ddl.ts';
import { findTable, targetName } from '../catalog/schemas.ts';
import type { Catalog } from '../catalog/types.ts';
import type { Client } from '../db/connect.ts';
import { qualified, quoteIdent } from '../db/ident.ts';
import { need, type Context } from '../phases/context.ts';
import { stageOf } from '../transfer/after-load.ts';

export interface ForeignKey {
  step: PostLoadStep;
  /** The constraint's name, on `step.table`. */
  name: string;
  /** Both tables are uptime tables: it can be built in uptime. */
  uptime: boolean;
}

/** The foreign-key steps, each with its constraint and whether both its tables move in uptime. Pure. */
export function foreignKeys(
  catalog: Catalog,
  steps: readonly PostLoadStep[],
  uptime: ReadonlySet<string>,
): ForeignKey[] {
  return steps.flatMap((step) => {
    if (stageOf(step) !== 'foreign-keys' || step.table === null) return [];
    const k = findTable(catalog, step.table).constraints.find(
      (c) => c.kind === 'f' && step.name.endsWith(`.${quoteIdent(c.name)}`),
    );
    if (!k) return [];
    const both = uptime.has(step.table) && k.references !== null && uptime.has(k.references);
    return [{ step, name: k.name, uptime: both }];
  });
}

/** Drops foreign keys from the target with their done-rows, so that their steps run again. */
export async function dropForeignKeys(c: Client, ctx: Context, fks: readonly ForeignKey[]): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  for (const fk of fks)
    await c.query(
      `ALTER TABLE ${targetName(ctx.settings, catalog, findTable(catalog, fk.step.table!))} DROP CONSTRAINT IF EXISTS ${quoteIdent(fk.name)}`,
    );
  await c.query(`DELETE FROM ${qualified(ctx.shadow, 'step_done')} WHERE step = ANY($1)`, [
    fks.map((f) => f.step.name),
  ]);
}

/** Whether the session may apply changes without firing the target's foreign keys (and sets it so). */
export async function replicaRole(dst: Client): Promise<boolean> {
  try {
    await dst.query('SET session_replication_role = replica');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false;
    throw err;
  }
}
