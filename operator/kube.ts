// The operator's thin Kubernetes layer: typed objects, clients, metadata patches and Events (the
// status writer is status-patch.ts).
import * as k8s from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions, V1MicroTime } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, type MigrationSpec } from '../engine/api/migration.ts';
import type { MigrationStatus, TableGroupSpec, TableGroupStatus } from '../engine/api/status.ts';

export interface Migration extends k8s.KubernetesObject {
  metadata: k8s.V1ObjectMeta;
  spec: MigrationSpec;
  status?: MigrationStatus;
}

export interface TableGroup extends k8s.KubernetesObject {
  metadata: k8s.V1ObjectMeta;
  spec: TableGroupSpec;
  status?: TableGroupStatus;
}

export const FINALIZER = 'ferry.dev/fallback';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'ferry' };
export const migrationLabel = 'ferry.dev/migration';

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  events: k8s.EventsV1Api;
  coordination: k8s.CoordinationV1Api;
}

export function clients(kc: k8s.KubeConfig): Clients {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    events: kc.makeApiClient(k8s.EventsV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
  };
}

const gv = { group: API_GROUP, version: API_VERSION };
export const code = (err: unknown) => (err as { code?: number }).code;

/** The apiserver's own message from an ApiException (its body is the raw Status for undeclared codes). */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    return (JSON.parse(String(body)) as { message?: string }).message ?? String(err);
  } catch {
    return (err as Error).message ?? String(err);
  }
}

export async function getMigration(
  c: Clients,
  namespace: string,
  name: string,
): Promise<Migration | undefined> {
  try {
    return (await c.custom.getNamespacedCustomObject({
      ...gv,
      namespace,
      plural: 'migrations',
      name,
    })) as Migration;
  } catch (err) {
    if (code(err) === 404) return undefined;
    throw err;
  }
}

export async function patchMetadata(
  c: Clients,
  m: Migration,
  metadata: Record<string, unknown>,
): Promise<void> {
  await c.custom.patchNamespacedCustomObject(
    {
      ...gv,
      namespace: m.metadata.namespace!,
      plural: 'migrations',
      name: m.metadata.name!,
      body: { metadata },
    },
    mergePatch,
  );
}

export async function recordEvent(
  c: Clients,
  m: Migration,
  type: 'Normal' | 'Warning',
  reason: string,
  note: string,
): Promise<void> {
  const now = new V1MicroTime();
  await c.events
    .createNamespacedEvent({
      namespace: m.metadata.namespace!,
      body: {
        metadata: { generateName: `${m.metadata.name}-` },
        eventTime: now,
        reportingController: 'ferry.dev/operator',
        reportingInstance: process.env['HOSTNAME'] ?? 'ferry-operator',
        action: reason,
        reason,
        note: note.slice(0, 1000),
        type,
        regarding: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'Migration',
          name: m.metadata.name,
          namespace: m.metadata.namespace,
          uid: m.metadata.uid,
        },
      },
    })
    // An event is best effort: it never fails a reconcile.
    .catch((err: unknown) =>
      process.stderr.write(`event ${reason} for ${m.metadata.name} not recorded: ${apiMessage(err)}\n`),
    );
}

export const customGv = gv;
