// Volumes, as far as a kubelet without mount namespaces can give them to a local process: a
// PersistentVolumeClaim bound to a hostPath (or local) PersistentVolume is that host directory. The
// process cannot see it at the container's mountPath, so the paths it is handed are rewritten
// instead: an argument or environment value that is a mountPath, or lies under one, becomes the same
// place in the host directory (ferry's transfer Pods get their dump directory as FERRY_DUMP_DIR).
// The claim must be Bound before the Pod is placed, as the scheduler requires.
import { join, relative } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { EnvError } from './env.ts';

type Core = Pick<k8s.CoreV1Api, 'readNamespacedPersistentVolumeClaim' | 'readPersistentVolume'>;

const claimsOf = (pod: k8s.V1Pod) =>
  (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim ? [{ volume: v.name, claim: v.persistentVolumeClaim.claimName }] : [],
  );

async function readClaim(core: Core, namespace: string, name: string) {
  try {
    return await core.readNamespacedPersistentVolumeClaim({ name, namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** Why the Pod cannot be placed yet (a claim missing or not bound), or undefined. */
export async function unboundClaim(core: Core, pod: k8s.V1Pod): Promise<string | undefined> {
  for (const { claim } of claimsOf(pod)) {
    const pvc = await readClaim(core, pod.metadata!.namespace!, claim);
    if (pvc?.status?.phase !== 'Bound') return `persistentvolumeclaim "${claim}" is not bound`;
  }
  return undefined;
}

/** mountPath -> host directory, for the container's mounts of claims bound to hostPath or local volumes. */
export async function hostMounts(
  core: Core,
  pod: k8s.V1Pod,
  c: k8s.V1Container,
): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const { volume, claim } of claimsOf(pod)) {
    const pvc = await readClaim(core, pod.metadata!.namespace!, claim);
    const pvName = pvc?.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound')
      throw new EnvError(`persistentvolumeclaim "${claim}" is not bound`);
    const pv = await core.readPersistentVolume({ name: pvName });
    const dir = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!dir) throw new EnvError(`persistentvolume "${pvName}": only hostPath and local volumes run here`);
    dirs.set(volume, dir);
  }
  const out = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    const dir = dirs.get(m.name);
    if (dir) out.set(m.mountPath, m.subPath ? join(dir, m.subPath) : dir);
  }
  return out;
}

/** `value` with a mountPath it names (whole, or as a leading directory) replaced by the host directory. */
export function hostPath(value: string, mounts: ReadonlyMap<string, string>): string {
  for (const [mountPath, dir] of mounts) {
    const rest = relative(mountPath, value);
    if (value === mountPath || (value.startsWith(`${mountPath}/`) && !rest.startsWith('..')))
      return join(dir, rest);
  }
  return value;
}
