// ferry export: the source side of a system move (DMO with system move). It runs Preparation to
// Execution against the source alone, and Execution's transfer only as far as the files: the dump
// directory then holds everything the import needs (catalog, plan, each chunk's file and record), to
// be copied anywhere. The source keeps its shadow schema, and with it the write fence, until the
// import's completion record comes back (ferry export --complete) or the user falls back: its data
// must not change while it exists only in files.
import type { Settings } from '../api/settings.ts';
import { ConfigError } from '../db/password.ts';
import { completionPath, readJson, readManifest } from '../dump/directory.ts';
import {
  completionProblem,
  COMPLETION_FILE,
  DumpError,
  moveProblem,
  type Completion,
  type DumpManifest,
} from '../dump/format.ts';
import { faultPoint } from '../faults.ts';
import { assertFenceHeld, assertNoWritesSeen } from '../fence/fence.ts';
import type { Logger } from '../log.ts';
import { checkExport } from '../phases/checks.ts';
import { configuration } from '../phases/configuration.ts';
import { createContext, type Context, type Observer } from '../phases/context.ts';
import { beginDowntime } from '../phases/execution.ts';
import { extraction } from '../phases/extraction.ts';
import { phasesToRun, type Phase } from '../phases/phase.ts';
import { prepareSide } from '../phases/preparation.ts';
import { preProcessSource } from '../phases/preprocessing.ts';
import { readResume, runPhase, type MoveState } from '../run.ts';
import { ForeignShadowError } from '../state/owner.ts';
import { withSource } from '../source/dialect.ts';
import { readIdentity, type Identity } from '../state/shadow.ts';
import { dumpDirOf, exportGroups, openExport } from '../transfer/dump.ts';

/** A context that never connects to the target. */
export function exportContext(s: Settings, log: Logger, observer: Observer = {}): Context {
  const ctx = createContext(s, log, observer, undefined, undefined, undefined, {
    target: `ferry export works with the source only; the target is reached by ferry import (migration ${s.name})`,
  });
  ctx.move = 'export';
  return ctx;
}

/** The end of an export's Execution, every chunk in its file: the fence held throughout (Detect: no write seen). */
export async function closeExport(ctx: Context): Promise<void> {
  await assertFenceHeld(ctx);
  if (ctx.settings.fenceMode === 'Detect') await assertNoWritesSeen(ctx);
}

/** Execution of an export: the downtime begins, every chunk goes into its file, the manifest is sealed. */
async function exportExecution(ctx: Context): Promise<void> {
  await beginDowntime(ctx);
  const dir = dumpDirOf(ctx);
  const m = await openExport(ctx, dir);
  const sealed = await exportGroups(ctx, dir, m, m.plan.groups, { parallelism: ctx.settings.parallelism });
  if (!sealed.exportedAt) throw new Error('internal: the export left chunks without a file');
  faultPoint('dump.sealed');
  await closeExport(ctx);
}

/**
 * What each phase of an export does. `where` names the dump directory in the shadow state: by
 * default spec.transfer.dumpDir; the operator, whose transfer Pods alone mount the volume, names the
 * volume (its Execution is theirs: see operator/migration/execution.ts).
 */
export const exportPhases = (where?: string): Partial<Record<Phase, (ctx: Context) => Promise<void>>> => ({
  Preparation: (ctx) => prepareSide(ctx, 'source'),
  Extraction: extraction,
  Configuration: (ctx) => configuration(ctx, ['source']),
  Checks: checkExport,
  PreProcessing: async (ctx) => {
    const move: MoveState = { side: 'export', dumpDir: where ?? dumpDirOf(ctx) };
    await preProcessSource(ctx, null, { move });
  },
  Execution: exportExecution,
});

export interface ExportSummary {
  dir: string;
  manifest: DumpManifest;
  rows: number;
  rawBytes: number;
  bytes: number;
}

function refuseMove(s: Settings): void {
  const problem = moveProblem(s);
  if (problem) throw new ConfigError(problem);
}

/**
 * Runs (or resumes) the export; once it is done, running it again only reports it. With `stopAfter`,
 * pauses after that phase (undefined is returned).
 */
export async function exportMigration(ctx: Context, stopAfter?: Phase): Promise<ExportSummary | undefined> {
  const s = ctx.settings;
  refuseMove(s);
  // Another owner's shadow schema is refused at Checks, after Preparation's own refusals.
  const resume = await readResume(ctx).catch((err: unknown) => {
    if (err instanceof ForeignShadowError) return undefined;
    throw err;
  });
  if (resume && !resume.move)
    throw new ConfigError(
      `migration ${s.name} was started by ferry run, with both databases; continue it with ferry run, or fall back first`,
    );
  if (resume) {
    Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
    ctx.history.push(...resume.history);
    ctx.log.info({ phase: resume.phase }, `resuming the export of ${s.name} at ${resume.phase}`);
  }
  const actions = exportPhases();
  for (const phase of phasesToRun(resume?.phase, stopAfter)) {
    const action = actions[phase];
    if (action) await runPhase(ctx, phase, action);
  }
  if (stopAfter && stopAfter !== 'PostProcessing') return undefined;
  const dir = dumpDirOf(ctx);
  const manifest = await readManifest(dir, s);
  const files = Object.values(manifest.chunks ?? {});
  return {
    dir,
    manifest,
    rows: files.reduce((a, f) => a + f.rows, 0),
    rawBytes: files.reduce((a, f) => a + f.rawBytes, 0),
    bytes: files.reduce((a, f) => a + f.bytes, 0),
  };
}

/**
 * ferry export --complete: the import reported success (its completion record, from `from` or the
 * dump directory, names this export), so the source's shadow schema and its fence go.
 */
export async function completeExport(ctx: Context, from?: string): Promise<Completion> {
  const s = ctx.settings;
  refuseMove(s);
  const resume = await readResume(ctx);
  if (!resume)
    throw new DumpError(
      `migration ${s.name}: no shadow schema ${ctx.shadow} on the source, nothing to complete (never exported, completed, or fallen back)`,
    );
  if (!resume.move)
    throw new ConfigError(`migration ${s.name} is not a system move (ferry export): ferry run completes it`);
  if (resume.phase !== 'PostProcessing')
    throw new DumpError(
      `migration ${s.name}: the export is not finished (phase ${resume.phase}); run ferry export first`,
    );
  Object.assign(ctx, { catalog: resume.catalog, plan: resume.plan });
  ctx.history.push(...resume.history);
  const m = await readManifest(dumpDirOf(ctx), s);
  const identity = await withSource(ctx.source, 'complete', (src) => src.getState<Identity>('identity'));
  if (!identity || readIdentity(identity).uid !== m.exportId)
    throw new DumpError(
      `${dumpDirOf(ctx)}: holds another export of ${s.name} than the one this source's shadow schema made`,
    );
  const path = completionPath(from ?? dumpDirOf(ctx));
  const record = await readJson(path);
  if (record === undefined)
    throw new DumpError(
      `${path}: no import completion record; ferry import writes ${COMPLETION_FILE} into its copy of the directory when it succeeds: copy that file here (or name its directory with --from)`,
    );
  const problem = completionProblem(path, record, m);
  if (problem) throw new DumpError(problem);
  await finishExport(ctx);
  return record as Completion;
}

/** The import succeeded: the source's shadow schema goes, and its write fence with it. */
export async function finishExport(ctx: Context): Promise<void> {
  // Detect mode let writes through: any since the fence went up are missing from the target.
  if (ctx.settings.fenceMode === 'Detect') await assertNoWritesSeen(ctx);
  await runPhase(ctx, 'PostProcessing', () => withSource(ctx.source, 'cleanup', (src) => src.dropStore()));
}
