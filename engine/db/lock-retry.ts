// DDL on a source the application keeps using (installing or dropping triggers) takes brief table
// locks. Waiting in the lock queue would stall every writer queued behind ferry, so such work runs
// with a short lock_timeout and is retried when it loses a race (lock timeout, deadlock).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { inTransaction, type Client } from './connect.ts';

const LOCK_CONFLICTS = new Set(['40P01', '55P03']);

/**
 * A quarter of the server's deadlock_timeout. ferry's DDL holds one table while it asks for the
 * next; an application transaction doing the opposite closes a cycle, and PostgreSQL cancels
 * whichever waiter checks for deadlock first, a full deadlock_timeout after its wait began. Timing
 * out well before that makes ferry the one that gives way, never the application.
 */
const LOCK_TIMEOUT_SQL = `SELECT set_config('lock_timeout',
  greatest(1, floor(extract(epoch FROM current_setting('deadlock_timeout')::interval) * 250))::int || 'ms', true)`;

/** Backoff before attempt `i + 1`: growing, at most 2 s (about a minute over all attempts). */
const backoffMs = (i: number) => Math.min(2000, 200 * i);

const ATTEMPTS = 30;

/**
 * Runs `attempt` until it does not lose a lock race (`isConflict`), at most ATTEMPTS times, backing
 * off between attempts; the last conflict fails with a message saying what to do. Each engine's
 * adapter supplies the attempt (its short lock timeout set) and what a conflict looks like.
 */
export async function retryLockConflicts<T>(
  log: Logger,
  what: string,
  isConflict: (err: unknown) => boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (i >= ATTEMPTS)
        throw new Error(
          `${what}: the application's transactions kept the tables busy through ${ATTEMPTS} attempts ` +
            `(${(err as Error).message}); end long-running transactions on the source and run again`,
          { cause: err },
        );
      log.warn({ attempt: i }, `lock conflict with the application while ${what}; retrying`);
      await sleep(backoffMs(i));
    }
  }
}

export const withLockRetries = (
  c: Client,
  log: Logger,
  what: string,
  fn: () => Promise<void>,
): Promise<void> =>
  retryLockConflicts(
    log,
    what,
    (err) => LOCK_CONFLICTS.has((err as { code?: string }).code ?? ''),
    () =>
      inTransaction(c, async () => {
        await c.query(LOCK_TIMEOUT_SQL);
        await fn();
      }),
  );
