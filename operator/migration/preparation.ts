// Preparation to PreProcessing run here, through the engine and in its order: a restart continues
// where the shadow schema says (Preparation again, cheap and read-only, then the recorded phase with
// the catalog and plan it stored). Until PreProcessing has created the shadow schema nothing is
// stored, so those phases run again from the start.
import type { Context } from '../../engine/phases/context.ts';
import type { Phase } from '../../engine/phases/phase.ts';
import { PHASE_ACTIONS, runPhase } from '../../engine/run.ts';
import { requeueAfter, type Outcome } from './outcome.ts';

/** `actions`: the engine's own by default (an Export's are the source side's, engine/move/export.ts). */
export async function prepare(
  ctx: Context,
  phases: readonly Phase[],
  actions: Partial<Record<Phase, (ctx: Context) => Promise<void>>> = PHASE_ACTIONS,
): Promise<Outcome> {
  for (const p of phases)
    await runPhase(ctx, p, actions[p]).catch((err: unknown) => {
      // The error says which phase failed.
      throw Object.assign(err as Error, { phase: p });
    });
  return requeueAfter(0);
}
