// The DMO phases as a closed list, and the pure rules that move a migration through them.

export const PHASES = [
  'Preparation',
  'Extraction',
  'Configuration',
  'Checks',
  'PreProcessing',
  'Execution',
  'PostProcessing',
] as const;
export type Phase = (typeof PHASES)[number];

export const TERMINAL_PHASES = ['Completed', 'Failed', 'RolledBack'] as const;
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];

export const isPhase = (p: string): p is Phase => (PHASES as readonly string[]).includes(p);

export function nextPhase(p: Phase): Phase | 'Completed' {
  const i = PHASES.indexOf(p);
  return PHASES[i + 1] ?? 'Completed';
}

/**
 * The phases a run goes through. A resumed run repeats Preparation (cheap, read-only: it proves both
 * servers are reachable again) and continues at the phase it stopped in; phases before it finished
 * and left their results in the shadow schema.
 */
export function phasesToRun(resumeAt: Phase | undefined, stopAfter?: Phase): Phase[] {
  const from = resumeAt ? PHASES.indexOf(resumeAt) : 0;
  // A run told to stop after a phase never runs a later one, even when resuming past it (a Pod
  // started again after its work was recorded must not race the operator's PostProcessing).
  const to = stopAfter ? PHASES.indexOf(stopAfter) : PHASES.length - 1;
  return PHASES.filter((p, i) => (p === 'Preparation' || i >= from) && i <= to);
}

/** Fallback is possible at any phase until the migration has completed. */
export const canFallBack = (p: Phase | TerminalPhase) => p !== 'Completed' && p !== 'RolledBack';

export interface PhaseRecord {
  phase: Phase;
  startedAt: string;
  endedAt?: string;
  seconds?: number;
}
