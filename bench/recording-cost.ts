// What ferry's triggers cost the application's writes, alone (no replay competing for the CPU):
// single-row transactions as the application role on one session, pgbench-like, in rounds that
// alternate between no triggers and ferry's uptime triggers (the open write fence and the change
// recorder, installed by the same DDL PreProcessing runs), medians of the rounds. Per transaction:
// the client's wall time, and the CPU time of the server process that ran it (less noisy on a
// shared machine).
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { fenceDdl } from '../engine/source/postgres/fence-ddl.ts';
import { recorderDdl, tableRecorderDdl } from '../engine/source/postgres/record.ts';
import type { PostgresServer } from '../hack/postgres/server.ts';
import { column, table } from '../test/support/catalog.ts';

const SHADOW = 'ferry_cost';
const EVENTS = table('events', { columns: [column('id', { type: 'bigint', notNull: true })] });

export interface PerWrite {
  /** Client wall time per transaction, µs. */
  wallUs: number;
  /** Server CPU time per transaction, µs. */
  cpuUs: number;
}

export interface RecordingCost {
  without: PerWrite;
  with: PerWrite;
  transactions: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** User and system CPU time of a process, µs (Linux: clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function round(appUrl: string, n: number, firstId: number): Promise<PerWrite> {
  const c = new pg.Client({ connectionString: appUrl, application_name: 'recording-cost' });
  await c.connect();
  try {
    const pid = (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
    const [cpu0, t0] = [cpuOf(pid), performance.now()];
    for (let i = 0; i < n; i++)
      await (i % 2
        ? c.query('UPDATE shop.events SET amount = amount + 1 WHERE id = $1', [1 + ((i * 7919) % 1000)])
        : c.query(
            `INSERT INTO shop.events (id, customer_id, kind, payload, amount, created_at)
             VALUES ($1, 1, 'cost', '{}', 1, now())`,
            [firstId + i],
          ));
    return { wallUs: ((performance.now() - t0) * 1000) / n, cpuUs: (cpuOf(pid) - cpu0) / n };
  } finally {
    await c.end();
  }
}

/** Measures on the source's `shop.events` (from the sample database); leaves the table as it found it. */
export async function recordingCost(
  source: PostgresServer,
  appUrl: string,
  { rounds = 7, transactions = 2000 } = {},
): Promise<RecordingCost> {
  const admin = new pg.Client({ connectionString: source.url('shop') });
  await admin.connect();
  const runs: Record<'without' | 'with', PerWrite[]> = { without: [], with: [] };
  const firstId = 3_000_000_000;
  try {
    for (let r = 0; r < rounds; r++)
      for (const variant of ['without', 'with'] as const) {
        await admin.query(`DROP SCHEMA IF EXISTS ${SHADOW} CASCADE; CREATE SCHEMA ${SHADOW}`);
        if (variant === 'with')
          for (const sql of [
            ...fenceDdl(SHADOW, 'cost', 'shop', [EVENTS]),
            ...recorderDdl(SHADOW),
            ...tableRecorderDdl(SHADOW, 'cost', 'shop', EVENTS, 0),
          ])
            await admin.query(sql);
        runs[variant].push(await round(appUrl, transactions, firstId));
        await admin.query(`DELETE FROM shop.events WHERE id >= ${firstId}`);
      }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${SHADOW} CASCADE`).catch(() => {});
    await admin.end();
  }
  const summary = (xs: PerWrite[]) => ({
    wallUs: median(xs.map((x) => x.wallUs)),
    cpuUs: median(xs.map((x) => x.cpuUs)),
  });
  return { without: summary(runs.without), with: summary(runs.with), transactions };
}
