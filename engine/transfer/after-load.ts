// After the load: keys, constraints and indexes (built on full tables, far faster than maintained
// row by row), then foreign keys, then sequence values, then views, triggers, row security, grants
// and comments (objects-ddl.ts). Each step commits together with its "done" row, so a killed run
// repeats none that finished. Builds and foreign keys run in one pool (pipeline.ts): a table's steps
// as soon as it is loaded, several tables' at once, a foreign key once both its tables are built,
// added NOT VALID and then validated so that validations run alongside each other. Sequence values
// and objects follow one at a time.
import { targetPostLoadSteps, type PostLoadStep } from '../catalog/ddl.ts';
import { withClient } from '../db/connect.ts';
import { need, type Context } from '../phases/context.ts';
import { doneSteps } from '../state/progress.ts';
import { runTableJobs } from './pipeline.ts';
import { runStep, stepError } from './steps.ts';

const OBJECT_STEPS = [
  'view:',
  'matview:',
  'mvindex:',
  'refresh:',
  'trigger:',
  'rls:',
  'policy:',
  'grant:',
  'comment:',
];

export function stageOf(step: PostLoadStep): 'build' | 'foreign-keys' | 'sequences' | 'objects' {
  if (step.name.startsWith('fk:')) return 'foreign-keys';
  if (step.name.startsWith('setval:')) return 'sequences';
  if (OBJECT_STEPS.some((p) => step.name.startsWith(p))) return 'objects';
  return 'build';
}

/** The steps the table pool runs: builds and foreign keys. */
export const tableSteps = (steps: readonly PostLoadStep[]): PostLoadStep[] =>
  steps.filter((s) => stageOf(s) === 'build' || stageOf(s) === 'foreign-keys');

export async function afterLoad(ctx: Context, steps?: PostLoadStep[]): Promise<void> {
  const all = steps ?? targetPostLoadSteps(need(ctx.catalog, 'catalog'), ctx.settings);
  await runTableJobs(ctx, { steps: tableSteps(all) });
  const done = await withClient(ctx.target, 'build', (c) => doneSteps(c, ctx.shadow));
  // Views read each other, triggers go on views: one at a time, in the order given.
  for (const stage of ['sequences', 'objects'] as const) {
    const items = all.filter((s) => stageOf(s) === stage && !done.has(s.name));
    if (!items.length) continue;
    await withClient(ctx.target, 'build', async (c) => {
      for (const step of items)
        await runStep(c, ctx.shadow, ctx.settings.target.schema, step, ctx.log).catch((err: unknown) => {
          // The code stays: a restarted server is worth another attempt (the cutover retries), bad SQL is not.
          throw stepError(step.name, step.table, err);
        });
    });
    ctx.log.info({ stage, steps: items.length }, 'post-load stage done');
  }
}
