// The engine's view of a Migration: validated like a CLI manifest, passwords read from the Secrets
// the spec names (a missing one is SecretMissing: the user can still create it).
import { SpecError, validateManifest } from '../../engine/api/manifest.ts';
import { API_GROUP, API_VERSION } from '../../engine/api/migration.ts';
import { resolveSettings } from '../../engine/api/settings.ts';
import type { Logger } from '../../engine/log.ts';
import { createContext, type Context, type Observer } from '../../engine/phases/context.ts';
import { code, type Clients, type Migration } from '../kube.ts';
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
  // The dump directory would be a path inside each Pod: the operator needs a volume for it first.
  if (manifest.spec.transfer?.method === 'Dump')
    throw new SpecError(`migration ${m.metadata.namespace}/${m.metadata.name}`, [
      'spec.transfer.method: Dump is not run by the operator yet (the ferry CLI runs it: ferry run, ferry export, ferry import); use Pipe',
    ]);
  const ns = m.metadata.namespace!;
  const passwords = {
    source: await secretValue(c, ns, m.spec.source.password.secretKeyRef, 'spec.source.password'),
    target: await secretValue(c, ns, m.spec.target.password.secretKeyRef, 'spec.target.password'),
  };
  const rootCerts = await readRootCerts(c, m, (msg) => new SecretMissing(msg));
  return createContext(resolveSettings(manifest), log, observer, undefined, passwords, rootCerts);
}
