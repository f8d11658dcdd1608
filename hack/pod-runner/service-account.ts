// The service-account credentials a kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount.
// A local process cannot have that fixed path, so they come as a kubeconfig named by $KUBECONFIG,
// which client libraries read before the in-cluster files. As the kubelet does, the token comes from
// the TokenRequest API and is bound to the Pod: it stops working when the Pod is deleted.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { EnvError } from './env.ts';

const TOKEN_SECONDS = 24 * 3600;

export async function serviceAccountEnv(
  core: Pick<k8s.CoreV1Api, 'createNamespacedServiceAccountToken'>,
  cluster: k8s.Cluster,
  pod: k8s.V1Pod,
  dir: string,
): Promise<Record<string, string>> {
  if (pod.spec!.automountServiceAccountToken === false) return {};
  const { name, namespace, uid } = pod.metadata!;
  const account = pod.spec!.serviceAccountName ?? 'default';
  let token: string;
  try {
    const r = await core.createNamespacedServiceAccountToken({
      name: account,
      namespace: namespace!,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: TOKEN_SECONDS,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: name!, uid: uid! },
        },
      },
    });
    if (!r.status?.token) throw new Error(`no token issued for serviceaccount ${namespace}/${account}`);
    token = r.status.token;
  } catch (err) {
    if ((err as { code?: number }).code === 404)
      throw new EnvError(`serviceaccount "${account}" not found in namespace ${namespace}`);
    throw err;
  }
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const file = join(dir, 'kubeconfig');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'in-cluster', cluster: { server: cluster.server, 'certificate-authority-data': ca } },
      ],
      users: [{ name: account, user: { token } }],
      contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: account, namespace } }],
      'current-context': 'in-cluster',
    }),
    { mode: 0o600 },
  );
  return { KUBECONFIG: file };
}

export const removeServiceAccount = (dir: string) => rmSync(dir, { recursive: true, force: true });
