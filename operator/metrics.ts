// /metrics (Prometheus), /healthz and /readyz.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MIGRATION_PHASES } from '../engine/api/status.ts';
import type { Migration } from './kube.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const labels = ['namespace', 'name'] as const;
export const metrics = {
  reconciles: new Counter({
    name: 'ferry_reconciles_total',
    help: 'Reconciles run.',
    labelNames: ['result'],
    registers: [registry],
  }),
  reconcileSeconds: new Histogram({
    name: 'ferry_reconcile_duration_seconds',
    help: 'Time one reconcile of a Migration took, failed ones included.',
    // A pass that runs a phase in the operator (Preparation, the builds) takes minutes.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  }),
  phase: new Gauge({
    name: 'ferry_migration_phase',
    help: '1 for the phase a migration is in, 0 for the others (one series per phase and Migration).',
    labelNames: [...labels, 'phase'],
    registers: [registry],
  }),
  rows: new Gauge({
    name: 'ferry_rows_copied',
    help: 'Rows committed on the target.',
    labelNames: labels,
    registers: [registry],
  }),
  bytes: new Gauge({
    name: 'ferry_bytes_copied',
    help: 'Bytes streamed to the target.',
    labelNames: labels,
    registers: [registry],
  }),
  lag: new Gauge({
    name: 'ferry_replay_lag_changes',
    help: 'DowntimeOptimized: recorded changes not yet replayed.',
    labelNames: labels,
    registers: [registry],
  }),
  phaseSeconds: new Gauge({
    name: 'ferry_phase_duration_seconds',
    help: 'Duration of finished phases.',
    labelNames: [...labels, 'phase'],
    registers: [registry],
  }),
};

/** A Migration's series, from its status; other Migrations' series are left as they are. */
export function recordMigration(m: Migration): void {
  const l = { namespace: m.metadata.namespace!, name: m.metadata.name! };
  const s = m.status ?? {};
  const current = s.phase ?? 'Pending';
  for (const phase of MIGRATION_PHASES) metrics.phase.set({ ...l, phase }, phase === current ? 1 : 0);
  metrics.rows.set(l, s.progress?.rows ?? 0);
  metrics.bytes.set(l, s.progress?.bytes ?? 0);
  if (s.lag) metrics.lag.set(l, s.lag.pending);
  for (const p of s.phases ?? [])
    if (p.endedAt)
      metrics.phaseSeconds.set(
        { ...l, phase: p.phase },
        (Date.parse(p.endedAt) - Date.parse(p.startedAt)) / 1000,
      );
}

/** A deleted Migration's series go with it. */
export function forgetMigration(namespace: string, name: string): void {
  const l = { namespace, name };
  for (const phase of MIGRATION_PHASES) {
    metrics.phase.remove({ ...l, phase });
    metrics.phaseSeconds.remove({ ...l, phase });
  }
  metrics.rows.remove(l);
  metrics.bytes.remove(l);
  metrics.lag.remove(l);
}

export function serveMetrics(port: number, ready: () => boolean): Server {
  const server = createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('Content-Type', registry.contentType);
      res.end(await registry.metrics());
    } else if (req.url === '/healthz') res.end('ok');
    else if (req.url === '/readyz') {
      res.statusCode = ready() ? 200 : 503;
      res.end(ready() ? 'ok' : 'not ready');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(port, process.env['FERRY_METRICS_ADDRESS'] ?? '0.0.0.0');
  return server;
}
