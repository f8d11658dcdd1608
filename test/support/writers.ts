// An application that keeps writing while a downtime-optimized migration runs: several concurrent
// sessions doing inserts, updates (key changes included) and deletes on the sample shop tables,
// some in multi-statement transactions. They stop when asked, or when the cutover locks them out.
import pg from 'pg';
import { quoteIdent } from '../../engine/db/ident.ts';

export interface Writers {
  stop(): Promise<{ committed: number; refused: number }>;
  committed(): number;
  /** Latency of the transactions committed since the last call. */
  takeStats(): WriterStats;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const OPS: ((r: () => number, events: number, shop: string) => string)[] = [
  (r, _, shop) => `INSERT INTO ${shop}.events (id, customer_id, kind, payload, amount, created_at)
          VALUES (${100_000_000 + Math.floor(r() * 1e9)}, ${1 + Math.floor(r() * 50)}, 'live', '{"w": ${Math.floor(r() * 1000)}}', ${(r() * 100).toFixed(2)}, now())
          ON CONFLICT DO NOTHING`,
  (r, events, shop) =>
    `UPDATE ${shop}.events SET amount = ${(r() * 1000).toFixed(2)}, payload = payload || '{"touched": true}' WHERE id = ${1 + Math.floor(r() * events)}`,
  (r, events, shop) => `DELETE FROM ${shop}.events WHERE id = ${1 + Math.floor(r() * events)}`,
  // A key change: the row moves to a new primary key.
  (r, events, shop) =>
    `UPDATE ${shop}.events SET id = id + 1000000000 WHERE id = ${1 + Math.floor(r() * events)}`,
  (r, _, shop) =>
    `UPDATE ${shop}.customers SET name = 'renamed ' || ${Math.floor(r() * 1e6)} WHERE id = ${1 + Math.floor(r() * 400)}`,
  (r, _, shop) =>
    `INSERT INTO ${shop}.products VALUES ('LIVE-${Math.floor(r() * 1e6)}', 'live product', ${(r() * 50).toFixed(2)}) ON CONFLICT DO NOTHING`,
  (
    r,
    _,
    shop,
  ) => `UPDATE ${shop}.products SET sku = sku || '-v2' WHERE sku = 'SKU-${1 + Math.floor(r() * 500)}'
          AND NOT EXISTS (SELECT 1 FROM ${shop}.order_items WHERE sku = 'SKU-${1 + Math.floor(r() * 500)}')`,
  (
    r,
    _,
    shop,
  ) => `WITH o AS (INSERT INTO ${shop}.orders (customer_id, status, total, placed_at) VALUES (${1 + Math.floor(r() * 400)}, 'new', 9.99, now()) RETURNING id)
          INSERT INTO ${shop}.order_items SELECT id, 1, 'SKU-1', 2 FROM o`,
  (r, _, shop) =>
    `UPDATE ${shop}.orders SET status = 'paid', total = total + 1 WHERE id = ${1 + Math.floor(r() * 800)}`,
];

export interface WriterOptions {
  sessions?: number;
  seed?: number;
  /** Transactions per second over all sessions; as fast as they go by default. */
  rate?: number;
  /**
   * The `events` ids (1..n) its updates, deletes and key moves pick from: 20000 by default. Deletes
   * and key moves use them up; a range much larger than the run's writes keeps the load the same
   * from start to end (a benchmark comparing stretches of it).
   */
  events?: number;
  /** The schema holding the sample tables: `shop` by default. */
  schema?: string;
}

export interface WriterStats {
  transactions: number;
  meanMs: number;
  p95Ms: number;
}

export function startWriters(url: string, opts: WriterOptions = {}): Writers {
  const sessions = opts.sessions ?? 3;
  const seed = opts.seed ?? 42;
  const events = opts.events ?? 20000;
  const schema = quoteIdent(opts.schema ?? 'shop');
  const pause = opts.rate ? (1000 * sessions) / opts.rate : 2;
  let latencies: number[] = [];
  let running = true;
  let committed = 0;
  let refused = 0;
  const loops = Array.from({ length: sessions }, async (_, i) => {
    const r = rng(seed + i);
    const c = new pg.Client({ connectionString: url, application_name: `app-writer-${i}` });
    c.on('error', () => {});
    await c.connect();
    try {
      while (running) {
        const multi = r() < 0.2;
        const t0 = performance.now();
        try {
          if (multi) {
            await c.query('BEGIN');
            for (let k = 0; k < 3; k++) await c.query(OPS[Math.floor(r() * OPS.length)]!(r, events, schema));
            await c.query('COMMIT');
          } else await c.query(OPS[Math.floor(r() * OPS.length)]!(r, events, schema));
          committed++;
          latencies.push(performance.now() - t0);
        } catch (err) {
          const code = (err as { code?: string }).code;
          // Locked out by the cutover (read-only, or the session ended): the application stops.
          if (code === '25006' || code === '57P01' || /terminat|Connection/i.test(String(err))) {
            refused++;
            return;
          }
          if (multi) await c.query('ROLLBACK').catch(() => {});
          // Conflicts any application sees now and then: it retries with other work.
          if (!['23505', '23503', '40P01', '40001'].includes(code ?? '')) throw err;
        }
        await new Promise((res) => setTimeout(res, Math.max(0, pause - (performance.now() - t0))));
      }
    } finally {
      await c.end().catch(() => {});
    }
  });
  const all = Promise.all(loops);
  return {
    committed: () => committed,
    takeStats: () => {
      const l = latencies.sort((a, b) => a - b);
      latencies = [];
      return {
        transactions: l.length,
        meanMs: l.reduce((a, b) => a + b, 0) / Math.max(l.length, 1),
        p95Ms: l[Math.floor(l.length * 0.95)] ?? 0,
      };
    },
    stop: async () => {
      running = false;
      await all;
      return { committed, refused };
    },
  };
}
