// PostProcessing runs here. The engine hands the report over before it drops the shadow schema and
// the pass writes it to status first: an operator killed after the cleanup completes the Migration
// from status (decide.ts `complete`), report included.
import type { Context } from '../../engine/phases/context.ts';
import { runPhase } from '../../engine/run.ts';
import { done, type Outcome } from './outcome.ts';
import type { Pass } from './pass.ts';
import { completed, reportRecorded } from './status.ts';

export async function finish(pass: Pass, ctx: Context): Promise<Outcome> {
  await runPhase(ctx, 'PostProcessing');
  const r = ctx.report!;
  pass.update(
    reportRecorded(r, pass.generation),
    completed(ctx.settings.validation, pass.generation, new Date()),
  );
  return done;
}

/** The work finished in an earlier pass whose status write did not happen: the recorded report stands. */
export function completeFromStatus(pass: Pass, ctx: Context): Outcome {
  pass.log.info('the shadow schema is gone and the report was recorded: the migration had finished');
  pass.update(completed(ctx.settings.validation, pass.generation, new Date()));
  return done;
}
