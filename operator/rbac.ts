// Every permission the operator uses, in sorted lists next to the code. The Helm chart's RBAC is
// generated from them, and a test checks the rendered chart against them.
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * Where Migrations live, with their Pods, Secrets, ConfigMaps (a CA for TLS), the claim of a dump
 * volume (checked, never mounted by the operator) and Events: a ClusterRole
 * by default, or a Role in each watched namespace of a namespace-scoped install (see scope.ts).
 */
export const OPERATOR_RULES: Rule[] = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['ferry.dev'], resources: ['migrations'], verbs: ['get', 'list', 'patch', 'update', 'watch'] },
  { apiGroups: ['ferry.dev'], resources: ['migrations/finalizers'], verbs: ['update'] },
  { apiGroups: ['ferry.dev'], resources: ['migrations/status'], verbs: ['get', 'patch', 'update'] },
  {
    apiGroups: ['ferry.dev'],
    resources: ['tablegroups'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'],
  },
  { apiGroups: ['ferry.dev'], resources: ['tablegroups/status'], verbs: ['get', 'patch', 'update'] },
];

/** In the operator's own namespace only: the leader-election Lease. */
export const LEADER_ELECTION_RULES: Rule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
];
