// The cutover, DMO's downtime: the fence goes up, the application's in-flight writes are waited out,
// the final delta is replayed (and validated, as every batch), the downtime tables are copied, what
// is not proven equal yet is validated, then what uptime could not build (cutover-steps.ts): keys of
// the downtime tables, foreign keys, sequences, triggers... each a timed step of the downtime. A run
// killed anywhere in it continues it (the fence stays up meanwhile). A cutover that fails is
// abandoned instead of stranding the application: the fence comes down with the failure recorded
// (one source transaction), the target loses what the cutover built (foreign keys, downtime tables'
// rows), and the replay goes on until the cutover is approved again.
import { targetSchemaOf } from '../api/settings.ts';
import { targetPostLoadSteps } from '../catalog/ddl.ts';
import { catalogSchemas, objectsOf, schemaOf } from '../catalog/schemas.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { inTransaction, withClient } from '../db/connect.ts';
import { qualified, quoteIdent } from '../db/ident.ts';
import { faultPoint } from '../faults.ts';
import { assertNoWritesSeen, FenceError, raiseFence, type FenceRecord } from '../fence/fence.ts';
import { need, type Context } from '../phases/context.ts';
import { allChunks } from '../plan/plan.ts';
import { withSource } from '../source/dialect.ts';
import { doneSteps } from '../state/progress.ts';
import { afterLoad, stageOf } from '../transfer/after-load.ts';
import { tableOf } from '../transfer/table-copy.ts';
import { backoffMs, isTransient, transientBudget } from '../transfer/errors.ts';
import { transferGroups } from '../transfer/transfer.ts';
import { validate } from '../validate/compare.ts';
import { consumedApproval } from './approval.ts';
import { DOWNTIME_STAGES, undoneByUndo } from './cutover-steps.ts';
import { dropForeignKeys, foreignKeys, replicaRole } from './foreign-keys.ts';
import { assertReplayable, closeConns, reopen, replay, type Conns } from './loop.ts';
import { provenUnits } from './proven.ts';
import { truncateSql } from './replay.ts';
import {
  downtimeStep,
  downtimeTables,
  readUptime,
  uptimeTables,
  writeUptime,
  type UptimeState,
} from './state.ts';

/**
 * What the cutover proves before it builds anything: the target equals the fenced source. The
 * final delta was validated as it was replayed, and the uptime tables' chunks were proven in uptime
 * (proven.ts): what is left are the downtime tables and chunks never proven.
 */
async function validateCutover(ctx: Context, conns: Conns): Promise<void> {
  if (ctx.settings.fenceMode === 'Detect') await assertNoWritesSeen(ctx);
  if (ctx.settings.validation === 'None') return;
  const skip = await provenUnits(conns.dst, ctx.shadow);
  await validate(ctx, need(ctx.catalog, 'catalog'), ctx.plan, { skip });
}

async function steps(ctx: Context, conns: Conns): Promise<void> {
  const step = (name: string, fn: () => Promise<void>) => downtimeStep(ctx, name, fn, conns);
  await step('replay final delta', () => replay(ctx, conns, true));
  faultPoint('cutover.final-drain');
  const rest = downtimeTables(ctx);
  if (rest.length)
    await step('copy downtime tables', () => transferGroups(ctx, { tables: rest }).then(() => undefined));
  if (!(await readUptime(ctx, conns.src)).validated) {
    await step('validate', async () => {
      await validateCutover(ctx, conns);
      // Recorded to the end: the fence up, nothing changed behind the triggers' back since the last batch.
      await assertReplayable(ctx, conns.src);
    });
    await writeUptime(ctx, { validated: true }, conns.src);
    faultPoint('cutover.validated');
  }
  // Stage by stage, each timed; what uptime (or an earlier attempt) built is done already.
  const done = await doneSteps(conns.dst, ctx.shadow);
  const inStage = (stage: string) =>
    targetPostLoadSteps(need(ctx.catalog, 'catalog'), ctx.settings).filter(
      (s) => stageOf(s) === stage && !done.has(s.name),
    );
  for (const [stage, name] of DOWNTIME_STAGES) {
    if (!inStage(stage).length) continue;
    await step(name, async () => {
      // Sequence values are read again now that the fence stopped them (setval renders from the catalog).
      if (stage === 'sequences')
        ctx.catalog = await ctx.source.refreshSequences(need(ctx.catalog, 'catalog'));
      await afterLoad(ctx, inStage(stage));
    });
  }
  faultPoint('cutover.after-load');
}

/**
 * Removes from the target what a cutover built that would change the uptime replay: foreign keys (a
 * replayed delete of a referenced key would violate them), the application's triggers (they would
 * fire on replayed rows), row-level security and policies (they would hide rows from the replay),
 * sequence values and materialized view data (redone later, fresher), the downtime tables' rows
 * and chunks (copied again by the next cutover). Views, grants and comments stay. Idempotent.
 */
export async function undoCutover(ctx: Context): Promise<void> {
  const catalog = need(ctx.catalog, 'catalog');
  const rest = new Set(downtimeTables(ctx));
  const chunks = allChunks(need(ctx.plan, 'plan'))
    .filter((c) => rest.has(c.table))
    .map((c) => c.id);
  const steps = targetPostLoadSteps(catalog, ctx.settings);
  const fks = foreignKeys(catalog, steps, new Set(uptimeTables(ctx)));
  await withClient(ctx.target, 'undo', async (c) => {
    // Foreign keys between uptime tables stay where the replay may leave them unfired (they hold).
    const kept = (await replicaRole(c)) ? fks.filter((f) => f.uptime) : [];
    await inTransaction(c, async () => {
      await dropForeignKeys(
        c,
        ctx,
        fks.filter((f) => !kept.includes(f)),
      );
      for (const source of catalogSchemas(catalog)) {
        const schema = targetSchemaOf(ctx.settings, source);
        const o = objectsOf(catalog, source);
        for (const t of o?.triggers ?? [])
          await c.query(`DROP TRIGGER IF EXISTS ${quoteIdent(t.name)} ON ${qualified(schema, t.table)}`);
        for (const p of o?.policies ?? [])
          await c.query(`DROP POLICY IF EXISTS ${quoteIdent(p.name)} ON ${qualified(schema, p.table)}`);
        for (const r of o?.rowSecurity ?? [])
          await c.query(
            `ALTER TABLE ${qualified(schema, r.table)} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY`,
          );
      }
      await c.query(`DELETE FROM ${qualified(ctx.shadow, 'step_done')} WHERE step = ANY($1)`, [
        steps.map((s) => s.name).filter((n) => undoneByUndo(n) && !kept.some((f) => f.step.name === n)),
      ]);
      for (const name of rest) {
        const t = tableOf(catalog, name);
        await c.query(truncateSql(t, targetSchemaOf(ctx.settings, schemaOf(catalog, t))));
      }
      await c.query(`DELETE FROM ${qualified(ctx.shadow, 'chunk_done')} WHERE chunk = ANY($1)`, [chunks]);
    });
  });
  await writeUptime(ctx, { undoPending: false });
}

/** The fence comes down and the failure is recorded in one source transaction; then the target is undone. */
async function abandon(ctx: Context, err: unknown): Promise<void> {
  const message = (err as Error).message ?? String(err);
  await withSource(ctx.source, 'fence', (s) =>
    s.transaction(async () => {
      const state = (await s.getState<UptimeState>('uptime')) ?? {};
      await s.setFence('open');
      await s.putState('fence', {
        state: 'open',
        since: new Date().toISOString(),
      } satisfies FenceRecord);
      await s.putState('uptime', {
        ...state,
        ...consumedApproval,
        cutover: false,
        validated: false,
        undoPending: true,
        downtime: [],
        lastCutoverError: { message, at: new Date().toISOString() },
      } satisfies UptimeState);
    }),
  );
  ctx.log.error(
    { error: message },
    'cutover failed: the fence is down and the source writable again; the replay goes on. ' +
      'Fix the cause, then approve again (ferry cutover, or spec.cutover.approved set to false, then true)',
  );
  await undoCutover(ctx);
}

/** Runs (or continues) an approved cutover. True when it is done; false when it failed and was abandoned. */
export async function cutover(ctx: Context, conns: Conns): Promise<boolean> {
  if (!(await readUptime(ctx, conns.src)).cutover) {
    // The downtime counts from here: the fence goes up first thing.
    const startedAt = new Date().toISOString();
    let fence: Awaited<ReturnType<typeof raiseFence>>;
    try {
      fence = await raiseFence(ctx, conns.src);
    } catch (err) {
      // raiseFence lowered the fence again; nothing on the target was touched.
      if (!(err instanceof FenceError) && !isTransient(err)) throw err;
      await abandon(ctx, err);
      return false;
    }
    await writeUptime(
      ctx,
      {
        cutover: true,
        cutoverStartedAt: startedAt,
        approved: false,
        validated: false,
        downtime: [
          { step: 'raise fence', seconds: fence.raisedSeconds },
          { step: 'wait for writers', seconds: fence.waitedSeconds },
        ],
      },
      conns.src,
    );
    ctx.log.warn({ endedSessions: fence.ended }, 'cutover: application writes fenced off, downtime started');
  }
  // The downtime lasts longer while a blip passes, but an approval is not thrown away for one.
  const retry = transientBudget();
  for (let attempt = 1; ; attempt++) {
    try {
      await steps(ctx, conns);
      return true;
    } catch (err) {
      if (retry(err)) {
        ctx.log.warn({ error: (err as Error).message, attempt }, 'cutover step interrupted, retrying');
        ctx.observer.retrying?.((err as Error).message);
        await sleep(backoffMs(attempt));
        await closeConns(conns);
        Object.assign(conns, await reopen(ctx));
        continue;
      }
      await abandon(ctx, err);
      return false;
    }
  }
}
