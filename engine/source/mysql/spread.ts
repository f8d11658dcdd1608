// Work on many tables spread over several sessions. MySQL writes each trigger's definition to files
// and syncs them (sync_frm, on by default), so a CREATE or DROP TRIGGER mostly waits for the disk
// (20-30 ms each on this project's machine, three to six per table); DDL on different tables takes
// different metadata locks, so sessions overlap those waits. A table's statements stay in order on
// one session.
import type { Connection } from 'mysql2';

/**
 * Runs `work` for every item over `first` and up to `sessions - 1` sessions more (opened here,
 * closed when done), each session taking the next item when it is free. After a failure no item
 * is started; the first failure is thrown once the running ones end.
 */
export async function spreadOverSessions<T>(
  first: Connection,
  open: () => Promise<Connection>,
  sessions: number,
  items: readonly T[],
  work: (c: Connection, item: T) => Promise<void>,
): Promise<void> {
  const opened = await Promise.allSettled(
    Array.from({ length: Math.min(sessions, items.length) - 1 }, () => open()),
  );
  const extra = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  let next = 0;
  let failure: { err: unknown } | undefined = opened.flatMap((o) =>
    o.status === 'rejected' ? [{ err: o.reason as unknown }] : [],
  )[0];
  const worker = async (c: Connection) => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(c, item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  try {
    await Promise.all([first, ...extra].map(worker));
  } finally {
    for (const c of extra) c.end(() => {});
  }
  if (failure) throw failure.err;
}
