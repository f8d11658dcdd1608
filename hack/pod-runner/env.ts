// A container's environment as the kubelet builds it: literal values, Secret and ConfigMap keys
// (env and envFrom), and the Pod's own fields. Values from Secrets are never logged.
import type * as k8s from '@kubernetes/client-node';

export class EnvError extends Error {
  override name = 'EnvError';
}

type Core = Pick<k8s.CoreV1Api, 'readNamespacedSecret' | 'readNamespacedConfigMap'>;

async function readData(
  core: Core,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  name: string,
  optional: boolean,
) {
  try {
    if (kind === 'Secret') {
      const s = await core.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(
        Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    }
    return (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
  } catch (err) {
    if ((err as { code?: number }).code === 404) {
      if (optional) return {};
      throw new EnvError(`${kind.toLowerCase()} "${name}" not found`);
    }
    throw err;
  }
}

function field(pod: k8s.V1Pod, path: string): string {
  const m = pod.metadata!;
  const values: Record<string, string | undefined> = {
    'metadata.name': m.name,
    'metadata.namespace': m.namespace,
    'metadata.uid': m.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return m.labels?.[label[1]!] ?? '';
  return values[path] ?? '';
}

export async function resolveEnv(
  core: Core,
  pod: k8s.V1Pod,
  c: k8s.V1Container,
): Promise<Record<string, string>> {
  const ns = pod.metadata!.namespace!;
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const data = from.secretRef
      ? await readData(core, 'Secret', ns, from.secretRef.name!, from.secretRef.optional ?? false)
      : from.configMapRef
        ? await readData(core, 'ConfigMap', ns, from.configMapRef.name!, from.configMapRef.optional ?? false)
        : {};
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom;
    if (!ref) {
      env[e.name] = (e.value ?? '').replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (all, n: string) => env[n] ?? all,
      );
      continue;
    }
    const keyRef = ref.secretKeyRef ?? ref.configMapKeyRef;
    if (keyRef) {
      const kind = ref.secretKeyRef ? 'Secret' : 'ConfigMap';
      const data = await readData(core, kind, ns, keyRef.name!, keyRef.optional ?? false);
      const v = data[keyRef.key];
      if (v === undefined) {
        if (keyRef.optional) continue;
        throw new EnvError(`couldn't find key ${keyRef.key} in ${kind} ${ns}/${keyRef.name}`);
      }
      env[e.name] = v;
    } else if (ref.fieldRef) env[e.name] = field(pod, ref.fieldRef.fieldPath);
  }
  return env;
}
