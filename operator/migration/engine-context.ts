// The engine's view of a Migration: validated like a CLI manifest, passwords read from the Secrets
// the spec names (a missing one is SecretMissing: the user can still create it). A system move's
// stage connects to one side only: the other is offline, and its Secret is never read.
import { SpecError, validateManifest } from '../../engine/api/manifest.ts';
import { API_GROUP, API_VERSION } from '../../engine/api/migration.ts';
import { resolveSettings } from '../../engine/api/settings.ts';
import type { Logger } from '../../engine/log.ts';
import { createContext, type Context, type Observer, type Passwords } from '../../engine/phases/context.ts';
import { code, type Clients, type Migration } from '../kube.ts';
import { connectedRoles, stageOf } from '../system-move.ts';
import { readRootCerts } from '../tls.ts';
import { SecretMissing } from './outcome.ts';

async function secretValue(
  c: Clients,
  ns: string,
  ref: { name: string; key: string } | undefined,
  field: string,
): Promise<string> {
  if (!ref)
    throw new SpecError(field, [`${field}.secretKeyRef: in a cluster the password must come from a Secret`]);
  try {
    const s = await c.core.readNamespacedSecret({ name: ref.name, namespace: ns });
    const v = s.data?.[ref.key];
    if (v === undefined) throw new SecretMissing(`${field}: Secret ${ns}/${ref.name} has no key ${ref.key}`);
    return Buffer.from(v, 'base64').toString('utf8');
  } catch (err) {
    if (code(err) === 404) throw new SecretMissing(`${field}: Secret ${ns}/${ref.name} not found`);
    throw err;
  }
}

export async function engineContext(
  c: Clients,
  m: Migration,
  log: Logger,
  observer: Observer = {},
): Promise<Context> {
  const manifest = validateManifest(
    {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: 'Migration',
      metadata: { name: m.metadata.name, namespace: m.metadata.namespace, uid: m.metadata.uid },
      spec: m.spec,
    },
    `migration ${m.metadata.namespace}/${m.metadata.name}`,
  );
  // Only the transfer Pods see the dump: they mount the volume. A path means nothing in a cluster.
  if (manifest.spec.transfer?.dumpDir !== undefined)
    throw new SpecError(`migration ${m.metadata.namespace}/${m.metadata.name}`, [
      'spec.transfer.dumpDir: a path on the machine of the ferry CLI; in a cluster the dump lives on a volume (spec.transfer.volume)',
    ]);
  const ns = m.metadata.namespace!;
  const stage = stageOf(m);
  const passwords: Partial<Passwords> = {};
  for (const role of connectedRoles(m))
    passwords[role] = await secretValue(c, ns, m.spec[role].password?.secretKeyRef, `spec.${role}.password`);
  const rootCerts = await readRootCerts(c, m, (msg) => new SecretMissing(msg));
  const ctx = createContext(resolveSettings(manifest), log, observer, undefined, passwords, rootCerts, {
    ...(stage === 'Export' && {
      target: `the Export stage of a system move works with the source only; the target is reached by the Import Migration (migration ${ns}/${m.metadata.name})`,
    }),
    ...(stage === 'Import' && {
      source: `the Import stage of a system move works with the target only; the source is not reached from here (migration ${ns}/${m.metadata.name})`,
    }),
  });
  // The Import's state lives in its bookkeeping on the target (engine/move/import.ts).
  if (stage === 'Export') ctx.move = 'export';
  if (stage === 'Import') Object.assign(ctx, { move: 'import', stateAt: 'target' });
  return ctx;
}
