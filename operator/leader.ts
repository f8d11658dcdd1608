// Leader election on a coordination.k8s.io Lease (client-node has no helper): acquire or renew with
// the Lease's resourceVersion, so a lost race is a 409. Two replicas are safe: only the leader acts.
import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '../engine/log.ts';
import { apiMessage, code, type Clients } from './kube.ts';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseSeconds?: number;
}

export async function acquireLeadership(
  c: Clients,
  o: LeaderOptions,
  log: Logger,
  onLost: () => void,
): Promise<() => void> {
  const lease = o.leaseSeconds ?? 15;
  let stopped = false;
  const tryOnce = async (): Promise<boolean> => {
    // Lease times are MicroTime: a plain Date is serialized in a form the apiserver rejects.
    const now = new V1MicroTime();
    let current;
    try {
      current = await c.coordination.readNamespacedLease({ name: o.name, namespace: o.namespace });
    } catch (err) {
      if (code(err) !== 404) throw err;
      try {
        await c.coordination.createNamespacedLease({
          namespace: o.namespace,
          body: {
            metadata: { name: o.name },
            spec: {
              holderIdentity: o.identity,
              leaseDurationSeconds: lease,
              acquireTime: now as never,
              renewTime: now as never,
            },
          },
        });
        return true;
      } catch (e) {
        if (code(e) === 409) return false;
        throw e;
      }
    }
    const spec = current.spec ?? {};
    const renewed = spec.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
    const expired = Date.now() - renewed > (spec.leaseDurationSeconds ?? lease) * 1000;
    if (spec.holderIdentity !== o.identity && !expired) return false;
    try {
      await c.coordination.replaceNamespacedLease({
        name: o.name,
        namespace: o.namespace,
        body: {
          metadata: { name: o.name, resourceVersion: current.metadata?.resourceVersion },
          spec: {
            holderIdentity: o.identity,
            leaseDurationSeconds: lease,
            acquireTime: (spec.holderIdentity === o.identity ? spec.acquireTime : now) as never,
            renewTime: now as never,
          },
        },
      });
      return true;
    } catch (err) {
      if (code(err) === 409) return false;
      throw err;
    }
  };
  const attempt = () =>
    tryOnce().catch((err: unknown) => {
      log.warn({ lease: `${o.namespace}/${o.name}`, error: apiMessage(err) }, 'lease request failed');
      return false;
    });
  while (!(await attempt())) {
    log.info({ lease: `${o.namespace}/${o.name}` }, 'waiting for leadership');
    await sleep((lease * 1000) / 3);
  }
  log.info({ lease: `${o.namespace}/${o.name}`, identity: o.identity }, 'leading');
  const renew = async () => {
    while (!stopped) {
      await sleep((lease * 1000) / 3);
      if (stopped) return;
      const ok = await attempt();
      if (!ok) {
        log.error('lost leadership');
        onLost();
        return;
      }
    }
  };
  void renew();
  return () => {
    stopped = true;
  };
}
