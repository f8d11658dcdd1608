// ferry import: the target side of a system move. From a dump directory that ferry export wrote
// (copied here, however), against the target alone: the dump is checked first (format, migration,
// every file's size and sha256) so broken input changes nothing; then the target schema, the import of
// every chunk (each with its done-row, as the pipe's), keys, constraints and indexes, validation
// against the digests the export measured, and a completion record in the directory for the source
// side. Its state (phase, catalog, what it created) lives in its bookkeeping schema on the target, so
// a killed import continues where it stopped, and `ferry fallback --from` removes what it created.
import type { Settings } from '../api/settings.ts';
import { inTransaction, withClient } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import { exportedChunks, manifestPath, readManifest, verifyFiles } from '../dump/directory.ts';
import {
  DumpError,
  moveProblem,
  sealedProblem,
  validationProblem,
  type DumpManifest,
  type StoredDump,
} from '../dump/format.ts';
import { cleanTarget, FallbackRefused, type FallbackResult } from '../fallback.ts';
import type { Catalog } from '../catalog/types.ts';
import type { Logger } from '../log.ts';
import { checkTarget } from '../phases/checks.ts';
import { configuration } from '../phases/configuration.ts';
import { createContext, type Context, type Observer } from '../phases/context.ts';
import { PHASES, phasesToRun, type Phase, type PhaseRecord } from '../phases/phase.ts';
import { postProcessing } from '../phases/postprocessing.ts';
import { prepareSide } from '../phases/preparation.ts';
import { createdOn, preProcessTarget, targetBefore, type Created } from '../phases/preprocessing.ts';
import type { Report } from '../report.ts';
import { runPhase, type StoredPhase } from '../run.ts';
import {
  BOOKKEEPING_MARKER,
  claimantOf,
  describeOwner,
  isOwnedBy,
  sameOwner,
  type Owner,
  type Recorded,
} from '../state/owner.ts';
import { doneChunks, type ChunkDone } from '../state/progress.ts';
import { schemaMarker } from '../db/schemas.ts';
import { createStateTable, getState, putState } from '../state/table.ts';
import { finishImport } from '../phases/execution.ts';
import { dumpTransfer } from '../transfer/dump.ts';
import type { Client } from '../db/connect.ts';

/**
 * A context on the target only, reading the dump from `dir` (none: the operator, which only falls
 * back and finishes from the bookkeeping); its state lives in the target's bookkeeping schema.
 */
export function importContext(
  s: Settings,
  log: Logger,
  dir: string | undefined,
  observer: Observer = {},
): Context {
  const ctx = createContext({ ...s, dumpDir: dir }, log, observer, undefined, undefined, undefined, {
    source: `ferry import works with the target only; the source is not reached from here (migration ${s.name})`,
  });
  ctx.move = 'import';
  ctx.stateAt = 'target';
  return ctx;
}

/** The import marks the target for the export it continues: same migration, the export's uid. */
const importOwner = (s: Settings, m: DumpManifest): Owner => ({ ...claimantOf(s), uid: m.exportId });

/** The dump this import may use: this migration's, in this ferry's format, completely exported. */
async function openDump(ctx: Context): Promise<DumpManifest> {
  const s = ctx.settings;
  const problem = moveProblem(s);
  if (problem) throw new ConfigError(problem);
  const dir = s.dumpDir!;
  const m = await readManifest(dir, s);
  const path = manifestPath(dir);
  const refused = sealedProblem(path, m) ?? validationProblem(path, m.validation, s.validation);
  if (refused) throw new DumpError(refused);
  return m;
}

export interface ImportResume {
  phase: Phase;
  history: PhaseRecord[];
  catalog: Catalog;
  /** The dump as PreProcessing stored it: its plan and each file's record. */
  dump: StoredDump;
}

/**
 * Whose this bookkeeping is: `owner` when the dump is at hand (its exportId); without it (the
 * operator, which never reads the directory) an import of this namespace and name whose marker
 * names the export its stored dump came from. Another's is refused.
 */
async function bookkeepingOwner(
  c: Client,
  ctx: Context,
  owner: Owner | undefined,
  refuse: (message: string) => Error = (m) => new DumpError(`${m}; nothing imported`),
): Promise<Recorded | undefined> {
  const marker = await schemaMarker(c, ctx.shadow, BOOKKEEPING_MARKER);
  if (marker === undefined) return undefined;
  const stored = owner ? undefined : await getState<StoredDump>(c, ctx.shadow, 'dump');
  const ours =
    marker &&
    (owner
      ? sameOwner(marker, owner)
      : isOwnedBy(marker, { ...claimantOf(ctx.settings), uid: stored?.exportId }) && stored !== undefined);
  if (!ours) {
    const who = owner ? describeOwner(owner) : describeOwner({ ...claimantOf(ctx.settings), uid: undefined });
    throw refuse(
      `target schema ${ctx.shadow} is not the bookkeeping of this import (${who}): ` +
        `${marker ? `it belongs to ${describeOwner(marker)}` : 'it carries no ferry marker'}`,
    );
  }
  return marker;
}

/** The state a started import left in its bookkeeping schema; another owner's bookkeeping is refused. */
export async function readImportResume(ctx: Context, owner?: Owner): Promise<ImportResume | undefined> {
  return withClient(ctx.target, 'resume', async (c) => {
    if (!(await bookkeepingOwner(c, ctx, owner))) return undefined;
    const phase = await getState<StoredPhase>(c, ctx.shadow, 'phase');
    const catalog = await getState<Catalog>(c, ctx.shadow, 'catalog');
    const dump = await getState<StoredDump>(c, ctx.shadow, 'dump');
    if (!phase || !catalog || !dump) return undefined;
    return { phase: phase.current, history: phase.history, catalog, dump };
  });
}

/** Every file the import still needs is the one exported: checked before anything changes on the target. */
async function verifyDump(ctx: Context, m: DumpManifest): Promise<void> {
  const dir = ctx.settings.dumpDir!;
  const done = await withClient(ctx.target, 'verify', async (c) =>
    (await schemaMarker(c, ctx.shadow, BOOKKEEPING_MARKER)) ? doneChunks(c, ctx.shadow) : new Map(),
  );
  const files = [...(await exportedChunks(dir, m)).values()].filter((f) => !done.has(f.chunk));
  await verifyFiles(dir, files, ctx.settings.parallelism, done.size > 0);
  ctx.log.info({ files: files.length, dir }, 'dump files verified (size and sha256)');
}

function importPhases(
  m: DumpManifest,
  owner: Owner,
): Partial<Record<Phase, (ctx: Context) => Promise<void>>> {
  return {
    Preparation: async (ctx) => {
      await prepareSide(ctx, 'target');
      await verifyDump(ctx, m);
    },
    Configuration: (ctx) => configuration(ctx, ['target']),
    Checks: checkTarget,
    PreProcessing: async (ctx) => {
      const created: Created = createdOn(ctx, await targetBefore(ctx));
      await preProcessTarget(ctx, owner, async (c) => {
        await createStateTable(c, ctx.shadow);
        await putState(c, ctx.shadow, 'catalog', ctx.catalog);
        const { catalog: _, ...dump }: DumpManifest = m;
        await putState(c, ctx.shadow, 'dump', dump satisfies StoredDump);
        await putState(c, ctx.shadow, 'created', created);
        await putState(c, ctx.shadow, 'phase', { current: 'PreProcessing', history: ctx.history });
      });
    },
    Execution: async (ctx) => {
      await dumpTransfer(ctx, { stage: 'import' });
      await finishImport(ctx);
    },
    PostProcessing: postProcessing,
  };
}

/** Runs (or resumes) the import; with `stopAfter`, pauses after that phase. */
export async function importMigration(ctx: Context, stopAfter?: Phase): Promise<Report | undefined> {
  const m = await openDump(ctx);
  const owner = importOwner(ctx.settings, m);
  Object.assign(ctx, { catalog: m.catalog, plan: m.plan });
  const resume = await readImportResume(ctx, owner);
  if (resume) {
    ctx.catalog = resume.catalog;
    ctx.history.push(...resume.history);
    ctx.log.info({ phase: resume.phase }, `resuming the import of ${ctx.settings.name} at ${resume.phase}`);
  }
  const actions = importPhases(m, owner);
  for (const phase of phasesToRun(resume?.phase, stopAfter)) {
    const action = actions[phase];
    if (action) await runPhase(ctx, phase, action);
  }
  if (stopAfter && stopAfter !== 'PostProcessing') return undefined;
  return ctx.report;
}

/**
 * A transfer Pod of an Import Migration: the chunks of its table groups, once the import's
 * PreProcessing has committed (the operator runs that through `ferry import --stop-after
 * PreProcessing`).
 */
export async function importGroupsOnly(ctx: Context, groups: number[]): Promise<ChunkDone[]> {
  const m = await openDump(ctx);
  const resume = await readImportResume(ctx, importOwner(ctx.settings, m));
  if (!resume || PHASES.indexOf(resume.phase) < PHASES.indexOf('Execution'))
    throw new DumpError(
      `the import of ${ctx.settings.name} has not reached Execution (${resume ? `it is at ${resume.phase}` : 'it has not started'}): ` +
        'ferry import --stop-after PreProcessing first',
    );
  const unknown = groups.filter((g) => !m.plan.groups.some((x) => x.id === g));
  if (unknown.length)
    throw new ConfigError(`--group ${unknown.join(',')}: the plan has groups 1..${m.plan.groups.length}`);
  Object.assign(ctx, { catalog: resume.catalog, plan: m.plan });
  return dumpTransfer(ctx, { stage: 'import', groups, parallelism: 1 });
}

/**
 * Fallback on the import side: what this import created on the target goes; the dump stays. Whose
 * it is comes from the directory when one is given (ferry fallback --from), else from the dump its
 * bookkeeping stored (the operator).
 */
export async function importFallback(ctx: Context): Promise<FallbackResult> {
  const dir = ctx.settings.dumpDir;
  const owner = dir ? importOwner(ctx.settings, await readManifest(dir, ctx.settings)) : undefined;
  return withClient(ctx.target, 'fallback', (c) =>
    inTransaction(c, async (): Promise<FallbackResult> => {
      const marker = await bookkeepingOwner(
        c,
        ctx,
        owner,
        (m) => new FallbackRefused(`${m}; nothing dropped`),
      );
      if (marker === undefined)
        return {
          done: false,
          reason: `no bookkeeping schema ${ctx.shadow} on the target: nothing to fall back (never imported, or completed)`,
        };
      const created = (await getState<Created>(c, ctx.shadow, 'created')) ?? null;
      const dropped = await cleanTarget(c, ctx, marker, created);
      ctx.log.info({ dropped }, 'fallback of the import done: the target holds nothing of it');
      return { done: true, dropped };
    }),
  );
}
