// DDL on the application's tables (creating or dropping ferry's triggers and TRUNCATE guards) takes
// schema-modification locks, which wait for every transaction using the table and then block every
// reader and writer queued behind them. So such work runs as one transaction under a short
// LOCK_TIMEOUT and, when it loses a race (lock timeout, deadlock), is rolled back and retried with
// the engine's lock-conflict policy (db/lock-retry.ts).
import { retryLockConflicts } from '../../db/lock-retry.ts';
import type { Logger } from '../../log.ts';
import type { MssqlConnection } from './connect.ts';

/**
 * Milliseconds ferry waits for one lock. SQL Server's deadlock monitor looks every 5 s (more often
 * once it finds deadlocks): giving up well before that makes ferry the one that gives way.
 */
export const LOCK_TIMEOUT_MS = 1000;

/** 1222: lock request time out period exceeded; 1205: chosen as deadlock victim. */
const LOCK_CONFLICTS = new Set([1222, 1205]);

export const errorNumber = (e: unknown): number | undefined => (e as { number?: number }).number;

/** Runs fn in one transaction that either commits whole or, after a lock conflict, is retried whole. */
export async function withLockRetries<T>(
  c: MssqlConnection,
  log: Logger,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  await c.run(`SET LOCK_TIMEOUT ${LOCK_TIMEOUT_MS}`);
  try {
    return await retryLockConflicts(
      log,
      what,
      (err) => LOCK_CONFLICTS.has(errorNumber(err) ?? 0),
      async () => {
        try {
          await c.run('BEGIN TRANSACTION');
          const result = await fn();
          await c.run('COMMIT TRANSACTION');
          return result;
        } catch (err) {
          // A lock timeout leaves the transaction open, a deadlock has rolled it back already.
          await c.run('IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION').catch(() => {});
          throw err;
        }
      },
    );
  } finally {
    await c.run('SET LOCK_TIMEOUT -1').catch(() => {});
  }
}
