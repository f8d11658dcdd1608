// Continuous validation's bookkeeping: which validation units (chunks, or whole tables) of the uptime
// tables are proven equal on the target. A unit is proven once, by the bulk copy's validation under
// its snapshot, or inside a replay batch, where the target equals the source as of the batch's
// snapshot. After that only changes can make it differ, and every change is logged, replayed and
// validated by key in its own batch: the cutover validates what is not proven yet, not the data.
// Kept on the target, committed with the rows they describe.
import { type Client } from '../db/connect.ts';
import { qualified } from '../db/ident.ts';
import type { ValidationUnit } from '../validate/compare.ts';

const PROVEN = 'proven';

export const provenDdl = (bookkeeping: string): string =>
  `CREATE TABLE IF NOT EXISTS ${qualified(bookkeeping, PROVEN)} (unit text PRIMARY KEY)`;

export async function provenUnits(dst: Client, bookkeeping: string): Promise<Set<string>> {
  const { rows } = await dst.query<{ unit: string }>(`SELECT unit FROM ${qualified(bookkeeping, PROVEN)}`);
  return new Set(rows.map((r) => r.unit));
}

export async function markProven(dst: Client, bookkeeping: string, ids: readonly string[]): Promise<void> {
  if (ids.length)
    await dst.query(
      `INSERT INTO ${qualified(bookkeeping, PROVEN)} (unit) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
      [ids],
    );
}

/**
 * The units a replay batch validates besides its keys: every unit of a table it copied whole (due,
 * whatever it costs: such a table changed entirely), then, while time allows, units never proven
 * (a bulk copy killed before its validation finished). Pure.
 */
export function batchUnits(
  units: readonly ValidationUnit[],
  pending: readonly ValidationUnit[],
  copiedWhole: ReadonlySet<string>,
): { due: ValidationUnit[]; optional: ValidationUnit[] } {
  return {
    due: units.filter((u) => copiedWhole.has(u.table)),
    optional: pending.filter((u) => !copiedWhole.has(u.table)),
  };
}
