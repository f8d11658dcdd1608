// What a pass does next, from where the engine's shadow state says the migration stands (the one
// phase order: the engine's) and what status already holds. Pure.
import type { MigrationStatus } from '../../engine/api/status.ts';
import { phasesToRun, PHASES, type Phase } from '../../engine/phases/phase.ts';
import { hasReport } from './status.ts';

export type Step =
  /** Phases before Execution, run here through the engine, in its order. */
  | { kind: 'prepare'; phases: Phase[] }
  /** Transfer Pods (Standard: one per table group; DowntimeOptimized: the uptime Pod). */
  | { kind: 'execute' }
  /** PostProcessing, run here. */
  | { kind: 'finish' }
  /** The engine finished and removed its shadow schema; the report it handed over is in status. */
  | { kind: 'complete' }
  | { kind: 'lost'; message: string };

const EXECUTION = PHASES.indexOf('Execution');

/**
 * `resumeAt` is the phase the shadow schema records (undefined: no shadow schema, or not one of this
 * Migration's). Without one, a Migration whose status is past PreProcessing either finished (its
 * report was recorded before the cleanup) or lost its shadow schema to someone else.
 */
export function nextStep(
  resumeAt: Phase | undefined,
  status: MigrationStatus | undefined,
  shadow: string,
): Step {
  if (resumeAt === 'Execution') return { kind: 'execute' };
  if (resumeAt === 'PostProcessing') return { kind: 'finish' };
  if (!resumeAt && hasReport(status)) return { kind: 'complete' };
  const at = PHASES.indexOf(status?.phase as Phase);
  if (!resumeAt && at >= EXECUTION)
    return {
      kind: 'lost',
      message: `the shadow schema ${shadow} is gone from the source: the migration cannot continue (fall back and start again)`,
    };
  return { kind: 'prepare', phases: phasesToRun(resumeAt).filter((p) => PHASES.indexOf(p) < EXECUTION) };
}

/** ferry's finalizer is held while something outside Kubernetes may need cleaning up. */
export const holdsFinalizer = (phase: MigrationStatus['phase']) =>
  phase !== 'Completed' && phase !== 'RolledBack';
