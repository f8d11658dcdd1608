// The CA certificates of a Migration's TLS settings, in a cluster: read from the Secret or ConfigMap
// the spec names, for the operator's own connections, and handed to transfer Pods as environment
// variables resolved by the kubelet (FERRY_<ROLE>_SSLROOTCERT, which the engine reads first). A
// system move's stage reaches one side only, and reads nothing of the other.
import type * as k8s from '@kubernetes/client-node';
import { SpecError } from '../engine/api/manifest.ts';
import type { RootCerts } from '../engine/phases/context.ts';
import { checksCertificate, rootCertEnvVar } from '../engine/db/tls.ts';
import { code, type Clients, type Migration } from './kube.ts';
import { connectedRoles } from './system-move.ts';

/** The CAs to connect with; `missing` makes the error for an absent object or key (the caller retries). */
export async function readRootCerts(
  c: Clients,
  m: Migration,
  missing: (msg: string) => Error,
): Promise<RootCerts> {
  const ns = m.metadata.namespace!;
  const out: RootCerts = {};
  for (const role of connectedRoles(m)) {
    const conn = m.spec[role];
    const from = conn.sslRootCert;
    if (!from || !checksCertificate(conn.sslMode ?? 'disable')) continue;
    const field = `spec.${role}.sslRootCert`;
    if (from.file !== undefined)
      throw new SpecError(`migration ${ns}/${m.metadata.name}`, [
        `${field}.file: in a cluster the CA must come from a Secret (secretKeyRef) or a ConfigMap (configMapKeyRef)`,
      ]);
    const [kind, ref] = from.secretKeyRef
      ? (['Secret', from.secretKeyRef] as const)
      : (['ConfigMap', from.configMapKeyRef!] as const);
    try {
      const data =
        kind === 'Secret'
          ? Object.fromEntries(
              Object.entries(
                (await c.core.readNamespacedSecret({ name: ref.name, namespace: ns })).data ?? {},
              ).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
            )
          : ((await c.core.readNamespacedConfigMap({ name: ref.name, namespace: ns })).data ?? {});
      const pem = data[ref.key];
      if (pem === undefined) throw missing(`${field}: ${kind} ${ns}/${ref.name} has no key ${ref.key}`);
      out[role] = pem;
    } catch (err) {
      if (code(err) === 404) throw missing(`${field}: ${kind} ${ns}/${ref.name} not found`);
      throw err;
    }
  }
  return out;
}

/** The transfer Pod's environment with the CAs, taken from the same keys by the kubelet. */
export function rootCertEnv(m: Migration): k8s.V1EnvVar[] {
  return connectedRoles(m).flatMap((role) => {
    const { sslRootCert: from, sslMode } = m.spec[role];
    if (!from || !checksCertificate(sslMode ?? 'disable')) return [];
    const valueFrom = from.secretKeyRef
      ? { secretKeyRef: { name: from.secretKeyRef.name, key: from.secretKeyRef.key } }
      : from.configMapKeyRef
        ? { configMapKeyRef: { name: from.configMapKeyRef.name, key: from.configMapKeyRef.key } }
        : undefined;
    return valueFrom ? [{ name: rootCertEnvVar(role), valueFrom }] : [];
  });
}
