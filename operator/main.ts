// The ferry operator: `ferry operator`. Watches Migrations, TableGroups and transfer Pods, elects a
// leader, and reconciles each Migration through a per-object queue.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { createLogger } from '../engine/log.ts';
import { clients, migrationLabel, type Migration, type TableGroup } from './kube.ts';
import { acquireLeadership } from './leader.ts';
import { forgetMigration, metrics, recordMigration, serveMetrics } from './metrics.ts';
import { parseWatchNamespaces, WATCH_NAMESPACES_ENV, watchScoped } from './scope.ts';
import { Reconciler } from './migration/reconcile.ts';
import { WorkQueue } from './queue.ts';

const RELIST_MS = 30_000;

const keyOf = (o: k8s.KubernetesObject) => `${o.metadata!.namespace}/${o.metadata!.name}`;

/** Only changes worth a reconcile: our own status writes come back as updates and are ignored. */
export function migrationChanged(old: Migration | undefined, now: Migration): boolean {
  if (!old) return true;
  return (
    old.metadata.generation !== now.metadata.generation ||
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    !isDeepStrictEqual(old.metadata.finalizers, now.metadata.finalizers) ||
    !isDeepStrictEqual(old.metadata.annotations, now.metadata.annotations)
  );
}

export async function runOperator(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'metrics-port': { type: 'string', default: '8080' },
      'leader-elect': { type: 'boolean', default: true },
      'no-leader-elect': { type: 'boolean', default: false },
      'lease-namespace': { type: 'string' },
    },
  });
  const log = createLogger({ component: 'operator' });
  const namespaces = parseWatchNamespaces(process.env[WATCH_NAMESPACES_ENV]);
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const c = clients(kc);
  let leading = false;
  let synced = () => false;
  // A standby replica is ready (healthy, waiting for the Lease): gating it would stall rolling updates.
  const server = serveMetrics(Number(values['metrics-port']), () => !leading || synced());
  const identity = `${hostname()}-${process.pid}`;
  const leaseNamespace = values['lease-namespace'] ?? process.env['POD_NAMESPACE'] ?? 'default';
  const stopLeading =
    values['no-leader-elect'] || !values['leader-elect']
      ? () => {}
      : await acquireLeadership(c, { namespace: leaseNamespace, name: 'ferry-operator', identity }, log, () =>
          process.exit(1),
        );
  leading = true;

  const lastSeen = new Map<string, Migration>();
  // Informer callbacks may fire before the queue exists (it needs their caches): they go through this.
  const queueRef: { current?: WorkQueue } = {};
  const enqueue = (key: string) => queueRef.current?.add(key);

  const migrations = watchScoped<Migration>(
    c,
    namespaces,
    'migrations',
    (m, kind) => {
      const key = keyOf(m);
      const old = lastSeen.get(key);
      if (kind === 'delete') {
        lastSeen.delete(key);
        forgetMigration(m.metadata.namespace!, m.metadata.name!);
      } else {
        lastSeen.set(key, m);
        recordMigration(m);
      }
      if (kind !== 'update' || migrationChanged(old, m)) enqueue(key);
    },
    log,
  );
  const groups = watchScoped<TableGroup>(
    c,
    namespaces,
    'tablegroups',
    (g, kind) => kind === 'delete' && enqueue(`${g.metadata.namespace}/${g.spec.migration}`),
    log,
  );
  const pods = watchScoped<k8s.V1Pod>(
    c,
    namespaces,
    'pods',
    (p) => {
      const m = p.metadata?.labels?.[migrationLabel];
      if (m) enqueue(`${p.metadata!.namespace}/${m}`);
    },
    log,
  );

  const observe = (ns: string, name: string) => ({
    groups: groups.informer.list(ns).filter((g) => g.spec.migration === name),
    pods: pods.informer.list(ns).filter((p) => p.metadata?.labels?.[migrationLabel] === name),
  });
  const reconciler = new Reconciler(c, log, observe);
  const queue = new WorkQueue(
    async (key) => {
      const end = metrics.reconcileSeconds.startTimer();
      try {
        const r = await reconciler.reconcile(key);
        metrics.reconciles.inc({ result: r.retry ? 'retry' : 'ok' });
        return r;
      } finally {
        end();
      }
    },
    (key, err) => {
      metrics.reconciles.inc({ result: 'error' });
      log.warn({ key, error: (err as Error).message }, 'reconcile failed; retrying with backoff');
    },
  );
  // Never trust the watch alone: every Migration is looked at again periodically.
  queueRef.current = queue;
  const relist = setInterval(() => migrations.informer.list().forEach((m) => enqueue(keyOf(m))), RELIST_MS);
  // Ready once every informer has listed (the listed Migrations are enqueued by their add events).
  synced = () => migrations.synced() && groups.synced() && pods.synced();
  log.info({ identity, namespaces: namespaces.length ? namespaces : 'all' }, 'operator started');

  const shutdown = async () => {
    clearInterval(relist);
    queue.stop();
    stopLeading();
    await Promise.all([migrations.stop(), groups.stop(), pods.stop()]);
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
