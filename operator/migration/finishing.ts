// PostProcessing runs here. The engine hands the report over before it drops the shadow schema and
// the pass writes it to status first: an operator killed after the cleanup completes the Migration
// from status (decide.ts `complete`), report included. An Import's PostProcessing validates against
// the export's digests its bookkeeping stored.
import type { Context } from '../../engine/phases/context.ts';
import { runPhase } from '../../engine/run.ts';
import { done, type Outcome } from './outcome.ts';
import type { Pass } from './pass.ts';
import { exportCompletedMessage } from './move.ts';
import { completed, reportRecorded, systemMoveTx } from './status.ts';

export async function finish(pass: Pass, ctx: Context): Promise<Outcome> {
  await runPhase(ctx, 'PostProcessing');
  const r = ctx.report!;
  const now = new Date();
  pass.update(
    reportRecorded(r, pass.generation),
    completed(ctx.settings.validation, pass.generation, now),
    // An Import's status is its completion record (in a cluster the dump's directory gets none).
    ...(ctx.move === 'import' ? [systemMoveTx({ importedAt: now.toISOString() }, pass.generation)] : []),
  );
  return done;
}

/**
 * The work finished in an earlier pass whose status write did not happen: the recorded report
 * stands (an Export's: its import was confirmed).
 */
export function completeFromStatus(pass: Pass, ctx: Context): Outcome {
  pass.log.info('the engine state is gone and the work was recorded: the migration had finished');
  const exported = ctx.move === 'export' ? exportCompletedMessage(pass.m) : undefined;
  pass.update(completed(ctx.settings.validation, pass.generation, new Date(), exported));
  return done;
}
