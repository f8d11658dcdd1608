// What every phase works with: the resolved settings, both endpoints, what earlier phases produced,
// and where to report (log, phase changes, progress).
import type { Settings } from '../api/settings.ts';
import type { Catalog } from '../catalog/types.ts';
import { endpoint, type Endpoint } from '../db/connect.ts';
import type { Logger } from '../log.ts';
import type { Plan } from '../plan/plan.ts';
import type { PreviousReport } from '../plan/groups.ts';
import type { ProgressSnapshot } from '../progress.ts';
import type { SourceDialect } from '../source/dialect.ts';
import { dialectOf } from '../source/dialects.ts';
import { shadowSchemaName } from '../state/shadow.ts';
import type { Phase, PhaseRecord } from './phase.ts';
import type { Report } from '../report.ts';
import type { Lag } from '../uptime/replay.ts';

export interface Observer {
  phase?(record: PhaseRecord): void;
  progress?(snapshot: ProgressSnapshot, phase: Phase): void;
  /** DowntimeOptimized: changes recorded but not yet replayed. */
  lag?(lag: Lag): void;
  /**
   * PostProcessing hands the report over before it removes the shadow schema that holds it: a
   * caller killed after the cleanup still has it (the operator records it in status).
   */
  report?(report: Report): Promise<void>;
  /** A transient failure (a dropped connection, a restarted server) that ferry is retrying. */
  retrying?(message: string): void;
}

export interface Context {
  settings: Settings;
  /** The source, through its engine's dialect. */
  source: SourceDialect;
  target: Endpoint;
  /** Name of the shadow schema on the source, and of ferry's bookkeeping schema on the target. */
  shadow: string;
  /** Where the shadow state (phase, catalog, plan) lives: the source's store, or the target for ferry import (state/at.ts). */
  stateAt: 'source' | 'target';
  /** A system move's side: ferry export works with the source only, ferry import with the target only. */
  move?: 'export' | 'import';
  log: Logger;
  observer: Observer;
  previousReport?: PreviousReport;
  catalog?: Catalog;
  plan?: Plan;
  report?: Report;
  /** Phases already recorded in this migration's history. */
  history: PhaseRecord[];
}

export interface Passwords {
  source: string;
  target: string;
}

/** CA certificates (PEM) read by the caller (the operator, from Secrets or ConfigMaps). */
export type RootCerts = Partial<Passwords>;

/** `offline`: sides this process never connects to, each with the reason (a system move). */
export function createContext(
  settings: Settings,
  log: Logger,
  observer: Observer = {},
  previousReport?: PreviousReport,
  passwords?: Partial<Passwords>,
  rootCerts?: RootCerts,
  offline: Partial<Record<'source' | 'target', string>> = {},
): Context {
  const shadow = shadowSchemaName(settings.name);
  return {
    settings,
    source: dialectOf(settings, shadow, log, passwords?.source, rootCerts?.source, offline.source),
    target: endpoint(
      'target',
      settings.target,
      settings.name,
      passwords?.target,
      rootCerts?.target,
      offline.target,
    ),
    shadow,
    stateAt: 'source',
    log,
    observer,
    previousReport,
    history: [],
  };
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: ${what} is not available in this phase`);
  return value;
}
