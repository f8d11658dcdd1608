// Running a migration: phase after phase, each recorded in the shadow schema once it exists, so a
// run killed at any point continues from the phase (and, in Execution, the chunk) where it stopped.
import type { Catalog } from './catalog/types.ts';
import { ConfigError } from './db/password.ts';
import { faultPoint } from './faults.ts';
import type { Context } from './phases/context.ts';
import { checks } from './phases/checks.ts';
import { configuration } from './phases/configuration.ts';
import { execution } from './phases/execution.ts';
import { extraction } from './phases/extraction.ts';
import { nextPhase, phasesToRun, PHASES, type Phase, type PhaseRecord } from './phases/phase.ts';
import { postProcessing } from './phases/postprocessing.ts';
import { preparation } from './phases/preparation.ts';
import { planHashOf, preProcessing } from './phases/preprocessing.ts';
import type { Plan } from './plan/plan.ts';
import type { Report } from './report.ts';
import { claimantOf, ForeignShadowError, whereMismatch } from './state/owner.ts';
import { withSource } from './source/dialect.ts';
import { withState } from './state/at.ts';
import { ownShadow, readIdentity, type Identity } from './state/shadow.ts';

export const PHASE_ACTIONS: Record<Phase, (ctx: Context) => Promise<void>> = {
  Preparation: preparation,
  Extraction: extraction,
  Configuration: configuration,
  Checks: checks,
  PreProcessing: preProcessing,
  Execution: execution,
  PostProcessing: postProcessing,
};

export interface StoredPhase {
  current: Phase;
  history: PhaseRecord[];
}

export interface Resume {
  phase: Phase;
  history: PhaseRecord[];
  catalog: Catalog;
  plan: Plan;
  /** A system move's export (ferry export): its target is reached by ferry import, not from here. */
  move?: MoveState;
}

/** What the shadow schema of ferry export records (key `move`). */
export interface MoveState {
  side: 'export';
  dumpDir: string;
}

/** The state a started migration left in its shadow schema, or undefined for a fresh start. */
export async function readResume(ctx: Context): Promise<Resume | undefined> {
  return withSource(ctx.source, 'resume', async (s) => {
    // Another owner's shadow schema is refused; one without ferry's marker is left to Checks to name.
    if (!(await ownShadow(s, ctx.shadow, claimantOf(ctx.settings)))) return undefined;
    const stored = await s.getState<Identity>('identity');
    const identity = stored && readIdentity(stored);
    if (identity && identity.planHash !== planHashOf(ctx.settings))
      throw new ConfigError(
        `migration ${ctx.settings.name} was started with other settings ` +
          `(${whereMismatch(identity, claimantOf(ctx.settings)) ?? 'the tables or the mode differ'}); restore them, or fall back first`,
      );
    const phase = await s.getState<StoredPhase>('phase');
    const catalog = await s.getState<Catalog>('catalog');
    const plan = await s.getState<Plan>('plan');
    const move = await s.getState<MoveState>('move');
    if (!phase || !catalog || !plan) return undefined;
    return { phase: phase.current, history: phase.history, catalog, plan, ...(move && { move }) };
  });
}

/** Why a command that needs both databases refuses an exported migration. */
export const movedAway = (name: string, move: MoveState) =>
  `migration ${name} was exported for a system move (ferry export, into ${move.dumpDir}): ` +
  'continue it with ferry import on the target side, then ferry export --complete here; or fall back (ferry fallback)';

async function recordPhase(ctx: Context, current: Phase): Promise<void> {
  await withState(ctx, 'state', async (st) => {
    if (await st.exists())
      await st.putState('phase', { current, history: ctx.history } satisfies StoredPhase);
  });
}

/**
 * Runs one phase: records its start and end, and where the migration stands afterwards. `action`
 * replaces the phase's own work where another process did most of it (the operator's Execution:
 * transfer Pods, then the post-load builds here).
 */
export async function runPhase(
  ctx: Context,
  phase: Phase,
  action: (ctx: Context) => Promise<void> = PHASE_ACTIONS[phase],
): Promise<void> {
  const record: PhaseRecord = { phase, startedAt: new Date().toISOString() };
  const open = ctx.history.findIndex((r) => r.phase === phase && !r.endedAt);
  if (open >= 0) ctx.history.splice(open, 1);
  ctx.history.push(record);
  ctx.observer.phase?.(record);
  ctx.log.info({ phase }, `phase ${phase} started`);
  const t0 = performance.now();
  faultPoint(`${phase}.start`);
  await action(ctx);
  record.endedAt = new Date().toISOString();
  record.seconds = Math.round(performance.now() - t0) / 1000;
  ctx.observer.phase?.(record);
  ctx.log.info({ phase, seconds: record.seconds }, `phase ${phase} done`);
  const next = nextPhase(phase);
  if (next !== 'Completed' && PHASES.indexOf(phase) >= PHASES.indexOf('PreProcessing'))
    await recordPhase(ctx, next);
  faultPoint(`${phase}.end`);
}

/** Runs (or resumes) the migration. With `stopAfter`, pauses after that phase: a later run continues. */
export async function runMigration(ctx: Context, stopAfter?: Phase): Promise<Report | undefined> {
  // Another owner's shadow schema is refused at Checks, after Preparation's own refusals, as in the operator.
  const resume = await readResume(ctx).catch((err: unknown) => {
    if (err instanceof ForeignShadowError) return undefined;
    throw err;
  });
  if (resume?.move) throw new ConfigError(movedAway(ctx.settings.name, resume.move));
  if (resume) {
    Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
    ctx.history.push(...resume.history);
    ctx.log.info({ phase: resume.phase }, `resuming migration ${ctx.settings.name} at ${resume.phase}`);
  }
  for (const phase of phasesToRun(resume?.phase, stopAfter)) await runPhase(ctx, phase);
  if (stopAfter && stopAfter !== 'PostProcessing') return undefined;
  if (!ctx.report) throw new Error('internal: PostProcessing produced no report');
  return ctx.report;
}
