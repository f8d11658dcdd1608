// After the load: keys, constraints and indexes (built on full tables, far faster than maintained
// row by row), then foreign keys, then sequence values, then views, triggers, row security, grants
// and comments (objects-ddl.ts). Each step commits together with its "done"
// row, so a killed run repeats none that finished. Steps on different tables run in parallel;
// foreign keys run one at a time because each locks two tables.
import { targetPostLoadSteps, type PostLoadStep } from '../catalog/ddl.ts';
import { connect, inTransaction, withClient, type Client } from '../db/connect.ts';
import { quoteIdent } from '../db/ident.ts';
import { faultPoint } from '../faults.ts';
import { need, type Context } from '../phases/context.ts';
import { doneSteps, markStepDone } from '../state/progress.ts';
import { runPool } from '../util/pool.ts';

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

export async function afterLoad(ctx: Context, steps?: PostLoadStep[]): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const schema = ctx.settings.target.schema;
  const all = steps ?? targetPostLoadSteps(catalog, ctx.settings);
  const done = await withClient(ctx.target, 'build', (c) => doneSteps(c, ctx.shadow));
  const todo = all.filter((s) => !done.has(s.name));
  const run = async (step: PostLoadStep, c: Client) => {
    const t0 = performance.now();
    try {
      await inTransaction(c, async () => {
        await c.query(`SET LOCAL search_path = ${quoteIdent(step.schema ?? schema)}`);
        await c.query(step.sql);
        await markStepDone(c, ctx.shadow, step.name, (performance.now() - t0) / 1000);
      });
    } catch (err) {
      // The code stays: a restarted server is worth another attempt (the cutover retries), bad SQL is not.
      throw Object.assign(
        new Error(
          `building ${step.name}${step.table ? ` on table ${step.table}` : ''} failed: ${(err as Error).message}`,
          { cause: err },
        ),
        { code: (err as { code?: string }).code },
      );
    }
    faultPoint('after-load.step-done');
    ctx.log.debug({ step: step.name, seconds: (performance.now() - t0) / 1000 }, 'post-load step done');
  };
  for (const [stage, concurrency] of [
    ['build', ctx.settings.parallelism],
    ['foreign-keys', 1],
    ['sequences', 1],
    // Views read each other, triggers go on views: one at a time, in the order given.
    ['objects', 1],
  ] as const) {
    const items = todo.filter((s) => stageOf(s) === stage);
    if (!items.length) continue;
    await runPool(
      items,
      concurrency,
      () => connect(ctx.target, 'build'),
      run,
      (c) => c.end(),
    );
    ctx.log.info({ stage, steps: items.length }, 'post-load stage done');
  }
}
