// DDL on a source the application keeps using (installing or dropping triggers) takes brief table
// locks. Waiting in the lock queue would stall every writer queued behind ferry, so such work runs
// with a short lock_timeout and is retried when it loses a race (lock timeout, deadlock).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { inTransaction, type Client } from './connect.ts';

const LOCK_CONFLICTS = new Set(['40P01', '55P03']);

export async function withLockRetries(
  c: Client,
  log: Logger,
  what: string,
  fn: () => Promise<void>,
  attempts = 10,
): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await inTransaction(c, async () => {
        await c.query("SET LOCAL lock_timeout = '2s'");
        await fn();
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!LOCK_CONFLICTS.has(code) || i >= attempts) throw err;
      log.warn({ attempt: i, code }, `lock conflict with the application while ${what}; retrying`);
      await sleep(200 * i);
    }
  }
}
