// The Migration's children: TableGroups and transfer Pods, created with an ownerReference (garbage
// collection removes them with their owner) and tolerant of a create that already happened.
import { API_GROUP, API_VERSION } from '../../engine/api/migration.ts';
import type { Chunk } from '../../engine/plan/chunks.ts';
import { code, customGv, migrationLabel, type Clients, type Migration } from '../kube.ts';
import { transferPod } from '../tablegroup/transfer-pod.ts';

export interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

const ignoreExisting = (err: unknown) => {
  if (code(err) !== 409) throw err;
};

export const ownerOf = (
  kind: 'Migration' | 'TableGroup',
  o: { metadata?: { name?: string; uid?: string } },
): Owner => ({
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind,
  name: o.metadata!.name!,
  uid: o.metadata!.uid!,
});

export function rangeText(range: unknown): string {
  if (!range) return 'all rows';
  const r = range as {
    kind: string;
    column?: string;
    lo?: string | null;
    hi?: string | null;
    loPage?: number | null;
    hiPage?: number | null;
  };
  return r.kind === 'key'
    ? `${r.column} in [${r.lo ?? '-inf'}, ${r.hi ?? '+inf'})`
    : `pages [${r.loPage ?? 0}, ${r.hiPage ?? 'end'})`;
}

export async function createGroup(
  c: Clients,
  m: Migration,
  id: number,
  chunks: readonly Pick<Chunk, 'id' | 'table' | 'range'>[],
): Promise<void> {
  await c.custom
    .createNamespacedCustomObject({
      ...customGv,
      namespace: m.metadata.namespace!,
      plural: 'tablegroups',
      body: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: 'TableGroup',
        metadata: {
          name: `${m.metadata.name}-g${id}`,
          labels: { [migrationLabel]: m.metadata.name!, 'app.kubernetes.io/managed-by': 'ferry' },
          ownerReferences: [{ ...ownerOf('Migration', m), controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          migration: m.metadata.name!,
          group: id,
          tables: [...new Set(chunks.map((c) => c.table))],
          chunks: chunks.map((c) => ({ id: c.id, table: c.table, range: rangeText(c.range) })),
        },
      },
    })
    .catch(ignoreExisting);
}

export async function createPod(
  c: Clients,
  m: Migration,
  pod: { name: string; owner: Owner; args: string[]; labels: Record<string, string> },
): Promise<void> {
  await c.core
    .createNamespacedPod({ namespace: m.metadata.namespace!, body: transferPod(m, pod) })
    .catch(ignoreExisting);
}

/** Fallback and deletion: the transfer Pods stop at once (what they committed is dropped with the rest). */
export async function deletePods(c: Clients, ns: string, names: readonly string[]): Promise<void> {
  for (const name of names)
    await c.core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 }).catch(() => {});
}
