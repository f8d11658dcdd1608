// Which namespaces the operator watches. Cluster-wide by default; with FERRY_WATCH_NAMESPACES (the
// chart's `watchNamespaces`) only those, with one informer per namespace and resource, because a
// namespace-scoped install has no right to list anything cluster-wide.
import type * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../engine/api/migration.ts';
import type { Logger } from '../engine/log.ts';
import { watch } from './informers.ts';
import type { Clients } from './kube.ts';

export const WATCH_NAMESPACES_ENV = 'FERRY_WATCH_NAMESPACES';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The namespaces to watch, from a comma-separated list; empty means every namespace. */
export function parseWatchNamespaces(value: string | undefined): string[] {
  const names = (value ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const bad = names.filter((n) => n.length > 63 || !NAMESPACE.test(n));
  if (bad.length)
    throw new Error(
      `${WATCH_NAMESPACES_ENV}: not a namespace name: ${bad.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  return [...new Set(names)];
}

/** What the operator reads from its informers, whichever way they are split. */
export interface Cache<T> {
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export type Watched = 'migrations' | 'tablegroups' | 'pods';

/** Only ferry's own Pods are watched. */
const POD_SELECTOR = 'app.kubernetes.io/managed-by=ferry';

function source(c: Clients, resource: Watched, ns: string | undefined) {
  const gv = { group: API_GROUP, version: API_VERSION };
  if (resource === 'pods')
    return {
      path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
      list: () =>
        ns
          ? c.core.listNamespacedPod({ namespace: ns, labelSelector: POD_SELECTOR })
          : c.core.listPodForAllNamespaces({ labelSelector: POD_SELECTOR }),
      labelSelector: POD_SELECTOR,
    };
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  return {
    path: ns ? `${base}/namespaces/${ns}/${resource}` : `${base}/${resource}`,
    list: () =>
      ns
        ? c.custom.listNamespacedCustomObject({ ...gv, namespace: ns, plural: resource })
        : c.custom.listClusterCustomObject({ ...gv, plural: resource }),
    labelSelector: undefined,
  };
}

/**
 * Informers on one resource: one cluster-wide, or one per watched namespace, seen as one cache.
 * A namespace outside the scope holds nothing.
 */
export function watchScoped<T extends k8s.KubernetesObject>(
  c: Clients,
  namespaces: string[],
  resource: Watched,
  onChange: (obj: T, kind: 'add' | 'update' | 'delete') => void,
  log: Logger,
): { informer: Cache<T>; synced: () => boolean; stop: () => Promise<void> } {
  const scopes = namespaces.length ? namespaces : [undefined];
  const watches = new Map(
    scopes.map((ns) => {
      const s = source(c, resource, ns);
      const list = s.list as () => Promise<k8s.KubernetesListObject<T>>;
      return [ns, watch<T>(c.kc, s.path, list, onChange, log, s.labelSelector)] as const;
    }),
  );
  const of = (ns: string | undefined) => (namespaces.length ? watches.get(ns) : watches.get(undefined));
  return {
    informer: {
      list: (ns) =>
        ns === undefined && namespaces.length
          ? [...watches.values()].flatMap((w) => w.informer.list())
          : (of(ns)?.informer.list(ns) ?? []),
      get: (name, ns) => of(ns)?.informer.get(name, ns),
    },
    synced: () => [...watches.values()].every((w) => w.synced()),
    stop: async () => {
      await Promise.all([...watches.values()].map((w) => w.stop()));
    },
  };
}
