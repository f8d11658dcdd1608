// The downtime lock on a PostgreSQL source: new transactions are read-only, the application's
// sessions are ended (ferry's own, recognised by their application_name, never), and in-flight
// transactions (those that wrote: they hold a transaction id) are waited for. Unlocking is part of the fallback.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '../db/connect.ts';
import { quoteIdent } from '../db/ident.ts';

const OTHERS = `datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND coalesce(application_name, '') NOT LIKE 'ferry:%'`;

export async function lockWrites(
  src: Client,
  database: string,
  timeoutMs = 30_000,
): Promise<{ terminated: number }> {
  await src.query(`ALTER DATABASE ${quoteIdent(database)} SET default_transaction_read_only = on`);
  const { rows } = await src.query<{ n: string }>(
    `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity WHERE ${OTHERS}`,
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows: busy } = await src.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity WHERE ${OTHERS} AND backend_xid IS NOT NULL`,
    );
    if (busy[0]!.n === '0') break;
    if (Date.now() > deadline)
      throw new Error(`source: ${busy[0]!.n} application transactions still running after the lock`);
    await src.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${OTHERS}`);
    await sleep(50);
  }
  return { terminated: Number(rows[0]!.n) };
}

export async function unlockWrites(src: Client, database: string): Promise<void> {
  await src.query(`ALTER DATABASE ${quoteIdent(database)} RESET default_transaction_read_only`);
}
