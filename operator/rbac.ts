// Every permission the operator uses, in one sorted list next to the code. The Helm chart's Role is
// generated from it, and a test checks the chart against it.
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const OPERATOR_RULES: Rule[] = [
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
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
