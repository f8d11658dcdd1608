// The transfer Pod of a table group (or, in DowntimeOptimized mode, the Pod that runs the uptime
// copy, the replay and the cutover; of an Import, the Pod that opens the dump). Pure. Credentials come
// only from Secrets; non-root, read-only root filesystem, no privilege escalation, all capabilities
// dropped. With method Dump every Pod mounts the dump volume.
import type * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../../engine/api/migration.ts';
import { DUMP_DIR_ENV } from '../../engine/cli/load.ts';
import { MANAGED_BY, migrationLabel, type Migration } from '../kube.ts';
import { connectedRoles, DUMP_MOUNT_PATH, dumpVolume, podDumpDir } from '../system-move.ts';
import { rootCertEnv } from '../tls.ts';
import { ALLOWED_IMAGES_ENV, imageRefusal, parseAllowedImages } from './image-allowlist.ts';

// The chart sets both; `ferry:0.1.0` is what the README's `docker build` produces.
export const DEFAULT_IMAGE = process.env['FERRY_IMAGE'] ?? 'ferry:0.1.0';
const ALLOWED_IMAGES = parseAllowedImages(process.env[ALLOWED_IMAGES_ENV]);

/** Why this Migration's `spec.transferPod.image` is refused (a spec error), or none. */
export const refusedImage = (m: Migration) =>
  imageRefusal(
    `migration ${m.metadata.namespace}/${m.metadata.name}`,
    m.spec.transferPod?.image,
    DEFAULT_IMAGE,
    ALLOWED_IMAGES,
  );

/**
 * The manifest a Pod runs from: what the user applied, without status and without the cutover
 * approval, which the operator records from the live spec (a Pod's copy would go stale).
 */
export function podManifest(m: Migration): string {
  return JSON.stringify({
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: 'Migration',
    // The uid too: the Pod's engine resumes only the state this Migration owns.
    metadata: { name: m.metadata.name, namespace: m.metadata.namespace, uid: m.metadata.uid },
    spec: { ...m.spec, cutover: undefined },
  });
}

/** The passwords of the databases this Migration connects to (a system move's stage reaches one). */
function passwordEnv(m: Migration): k8s.V1EnvVar[] {
  return connectedRoles(m).flatMap((role) => {
    const ref = m.spec[role].password?.secretKeyRef;
    if (!ref) return [];
    return [
      {
        name: `FERRY_${role.toUpperCase()}_PASSWORD`,
        valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
      },
    ];
  });
}

/** Method Dump: the claim mounted at DUMP_MOUNT_PATH, and the Migration's directory on it (FERRY_DUMP_DIR). */
function dumpMount(m: Migration) {
  const v = dumpVolume(m);
  if (!v) return { volumes: undefined, mounts: undefined, env: [] };
  return {
    volumes: [{ name: 'dump', persistentVolumeClaim: { claimName: v.claimName } }],
    mounts: [{ name: 'dump', mountPath: DUMP_MOUNT_PATH }],
    env: [{ name: DUMP_DIR_ENV, value: podDumpDir(v) }],
  };
}

export interface PodFor {
  name: string;
  owner: { apiVersion: string; kind: string; name: string; uid: string };
  args: string[];
  labels: Record<string, string>;
}

export function transferPod(m: Migration, p: PodFor): k8s.V1Pod {
  const refused = refusedImage(m);
  if (refused) throw refused;
  const settings = m.spec.transferPod ?? {};
  const dump = dumpMount(m);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: m.metadata.namespace,
      labels: { ...MANAGED_BY, [migrationLabel]: m.metadata.name!, ...p.labels },
      ownerReferences: [{ ...p.owner, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        // The kubelet makes the dump volume writable for this group.
        ...(dump.volumes && { fsGroup: 65532 }),
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumes: dump.volumes,
      nodeSelector: settings.nodeSelector,
      tolerations: settings.tolerations,
      containers: [
        {
          name: 'transfer',
          image: settings.image ?? DEFAULT_IMAGE,
          command: ['ferry'],
          args: p.args,
          env: [
            { name: 'FERRY_MIGRATION', value: podManifest(m) },
            { name: 'FERRY_LOG_JSON', value: '1' },
            ...passwordEnv(m),
            ...rootCertEnv(m),
            ...dump.env,
          ],
          volumeMounts: dump.mounts,
          // The operator shows why a Pod failed (a damaged dump file, say) from the end of its log.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          resources: settings.resources,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
    },
  };
}
