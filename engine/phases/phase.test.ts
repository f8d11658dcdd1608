import { describe, expect, it } from 'vitest';
import { PHASES, canFallBack, nextPhase, phasesToRun } from './phase.ts';

describe('phase rules', () => {
  it('walks the DMO phases in order and ends Completed', () => {
    expect(PHASES.map((p) => nextPhase(p))).toEqual([...PHASES.slice(1), 'Completed']);
  });
  it('runs every phase on a fresh start', () => {
    expect(phasesToRun(undefined)).toEqual([...PHASES]);
  });
  it('resumes at the stored phase, repeating only Preparation before it', () => {
    expect(phasesToRun('Execution')).toEqual(['Preparation', 'Execution', 'PostProcessing']);
    expect(phasesToRun('PreProcessing')).toEqual([
      'Preparation',
      'PreProcessing',
      'Execution',
      'PostProcessing',
    ]);
  });
  it('never goes past the phase it stops after, even resuming beyond it', () => {
    expect(phasesToRun(undefined, 'Checks')).toEqual([
      'Preparation',
      'Extraction',
      'Configuration',
      'Checks',
    ]);
    expect(phasesToRun('Execution', 'Execution')).toEqual(['Preparation', 'Execution']);
    expect(phasesToRun('PostProcessing', 'Execution')).toEqual(['Preparation']);
    expect(phasesToRun('PostProcessing', 'PostProcessing')).toEqual(['Preparation', 'PostProcessing']);
  });
  it('allows fallback at every phase but not after completion', () => {
    for (const p of PHASES) expect(canFallBack(p), p).toBe(true);
    expect(canFallBack('Failed')).toBe(true);
    expect(canFallBack('Completed')).toBe(false);
  });
});
