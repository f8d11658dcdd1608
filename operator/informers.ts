// Watches on Migrations, TableGroups and transfer Pods. client-node's informer stops on any error
// other than a 410 or a timeout, so each is restarted with backoff; the caller also relists
// periodically, because a watch alone can miss events.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../engine/log.ts';

export function watch<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  path: string,
  list: () => Promise<k8s.KubernetesListObject<T>>,
  onChange: (obj: T, kind: 'add' | 'update' | 'delete') => void,
  log: Logger,
  labelSelector?: string,
): { informer: k8s.Informer<T> & k8s.ObjectCache<T>; synced: () => boolean; stop: () => Promise<void> } {
  let listed = false;
  // Synced once a list has come back: the cache then holds every object (readiness waits for this).
  const informer = k8s.makeInformer<T>(
    kc,
    path,
    async () => {
      const result = await list();
      listed = true;
      return result;
    },
    labelSelector,
  );
  let stopped = false;
  let failures = 0;
  informer.on('add', (o) => onChange(o, 'add'));
  informer.on('update', (o) => onChange(o, 'update'));
  informer.on('delete', (o) => onChange(o, 'delete'));
  informer.on('connect', () => (failures = 0));
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    failures++;
    const delay = Math.min(1000 * 2 ** (failures - 1), 30_000);
    log.warn(
      { path, error: String((err as Error)?.message ?? err), retryInMs: delay },
      'watch failed; restarting',
    );
    setTimeout(() => !stopped && void informer.start().catch(() => {}), delay);
  });
  void informer.start().catch(() => {});
  return {
    informer,
    synced: () => listed,
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}
