// Turning a batch of recorded changes into their net effect per table: for each key, only the last
// change counts (a delete, or the row's latest image). Keys that changed produce a delete of the old
// key and an upsert of the new one. Pure, so ordering subtleties are tested without a database.

export interface LogEntry {
  seq: string;
  tbl: string;
  op: 'I' | 'U' | 'D';
  old_key: Record<string, unknown> | null;
  new_row: Record<string, unknown> | null;
}

export interface TableEffects {
  /** Keys to delete (as objects of key columns). */
  deletes: Record<string, unknown>[];
  /** Full row images to insert or overwrite. */
  upserts: Record<string, unknown>[];
}

const keyOf = (row: Record<string, unknown>, cols: readonly string[]) =>
  JSON.stringify(cols.map((c) => row[c] ?? null));

export function netEffects(
  entries: readonly LogEntry[],
  keyColumns: (table: string) => readonly string[],
): Map<string, TableEffects> {
  const last = new Map<
    string,
    Map<string, { row: Record<string, unknown> | null; key: Record<string, unknown> }>
  >();
  for (const e of entries) {
    const cols = keyColumns(e.tbl);
    const perTable = last.get(e.tbl) ?? new Map();
    last.set(e.tbl, perTable);
    if (e.old_key) {
      const k = keyOf(e.old_key, cols);
      if (e.op === 'D' || !e.new_row || keyOf(e.new_row, cols) !== k)
        perTable.set(k, { row: null, key: e.old_key });
    }
    if (e.new_row) {
      const key = Object.fromEntries(cols.map((c) => [c, e.new_row![c] ?? null]));
      perTable.set(keyOf(e.new_row, cols), { row: e.new_row, key });
    }
  }
  const out = new Map<string, TableEffects>();
  for (const [table, perKey] of last) {
    const fx: TableEffects = { deletes: [], upserts: [] };
    for (const v of perKey.values()) (v.row ? fx.upserts : fx.deletes).push(v.row ?? v.key);
    out.set(table, fx);
  }
  return out;
}
