// Fallback (spec.fallback) and deletion. Both stop the Pods and let the engine drop what ferry
// created; the source is untouched. A Migration deleted before it completed falls back first: the
// finalizer exists only for that cleanup outside Kubernetes. When the cleanup cannot happen (Secret
// or databases gone), the annotation ferry.dev/abandon-cleanup: "true" lets the finalizer go after
// an Event names what is left behind.
import { SpecError } from '../../engine/api/manifest.ts';
import { fallback, type FallbackResult } from '../../engine/fallback.ts';
import { importFallback } from '../../engine/move/import.ts';
import type { Context } from '../../engine/phases/context.ts';
import { ForeignShadowError } from '../../engine/state/owner.ts';
import { Reason } from '../conditions.ts';
import { connectedRoles } from '../system-move.ts';
import { deletePods } from './children.ts';
import { holdsFinalizer } from './decide.ts';
import { engineContext } from './engine-context.ts';
import { done, messageOf, SecretMissing, type Outcome } from './outcome.ts';
import type { Observed, Pass } from './pass.ts';
import { enterPhase } from './status.ts';

export const ABANDON_CLEANUP = 'ferry.dev/abandon-cleanup';

/** The engine's fallback of this Migration's side: an Import's undoes what it created on the target. */
const fallBack = (ctx: Context): Promise<FallbackResult> =>
  ctx.move === 'import' ? importFallback(ctx) : fallback(ctx);

/** A shadow schema of the same name but another owner: this Migration created nothing there to drop. */
function ownsNothing(err: unknown): FallbackResult {
  if (!(err instanceof ForeignShadowError)) throw err;
  return { done: false, reason: `nothing of this migration's to drop: ${err.message}` };
}

const stopPods = (pass: Pass, { pods }: Observed) =>
  deletePods(
    pass.c,
    pass.ns,
    pods.map((p) => p.metadata!.name!),
  );

export async function rollBack(pass: Pass, ctx: Context, observed: Observed): Promise<Outcome> {
  if (pass.m.status?.phase === 'Completed') return done;
  const now = new Date();
  pass.update(
    enterPhase(
      'RollingBack',
      'fallback requested: stopping transfer pods, dropping what ferry created',
      pass.generation,
      now,
    ),
  );
  await pass.flush();
  await stopPods(pass, observed);
  const r = await fallBack(ctx).catch(ownsNothing);
  pass.update(
    enterPhase(
      'RolledBack',
      r.done ? `dropped: ${r.dropped.join(', ')}` : r.reason,
      pass.generation,
      new Date(),
    ),
  );
  return done;
}

/** What a Migration deleted without its cleanup leaves behind, for the Event. */
export function leftBehind(pass: Pass, why: string): string {
  const at = (role: 'source' | 'target') => {
    const c = pass.m.spec[role];
    return `${c.host}:${c.port ?? 5432}/${c.database}`;
  };
  // A system move's stage created things on its own side only.
  const left = connectedRoles(pass.m).map((role) =>
    role === 'source'
      ? `the shadow schema ferry_${pass.name} on ${at('source')} with its triggers on the migrated tables`
      : `ferry's tables and bookkeeping schema on ${at('target')}`,
  );
  return (
    `deleted without cleanup (${ABANDON_CLEANUP}): ${why}. Left behind: ${left.join(', and ')}; ` +
    'run `ferry fallback -f <manifest>` against them to remove them'
  );
}

/**
 * Deletion before Completed or RolledBack: fall back, then the finalizer goes (the caller removes
 * it once this returns). Errors propagate (retried, or shown), naming the way out.
 */
export async function finalize(pass: Pass, observed: Observed): Promise<Outcome> {
  if (!holdsFinalizer(pass.m.status?.phase)) return done;
  await stopPods(pass, observed);
  const abandon = pass.m.metadata.annotations?.[ABANDON_CLEANUP] === 'true';
  try {
    const ctx = await engineContext(pass.c, pass.m, pass.log);
    await fallBack(ctx).catch(ownsNothing);
  } catch (err) {
    if (err instanceof SpecError) return done; // an invalid spec never created anything
    if (abandon) {
      await pass.event('Warning', Reason.CleanupAbandoned, leftBehind(pass, messageOf(err)));
      return done;
    }
    const hint = `; to delete it anyway, leaving ferry's objects behind: kubectl annotate migration ${pass.name} ${ABANDON_CLEANUP}=true`;
    if (err instanceof SecretMissing) throw new SecretMissing(`${err.message}${hint}`);
    throw new Error(`cleanup of the deleted migration failed: ${messageOf(err)}${hint}`, { cause: err });
  }
  return done;
}
