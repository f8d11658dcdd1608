// Running one post-load step on the target. Its DDL commits together with its done-row, so a killed
// run repeats none that finished; a step another process (a transfer Pod) is running is waited for,
// then found done and skipped.
import { inTransaction, type Client } from '../db/connect.ts';
import { quoteIdent } from '../db/ident.ts';
import { faultPoint } from '../faults.ts';
import type { Logger } from '../log.ts';
import { claimStep, markStepDone } from '../state/progress.ts';

export interface Step {
  /** Its done-row's name (catalog/ddl.ts PostLoadStep names, `analyze:<table>`). */
  name: string;
  sql: string;
  /** The schema it runs in (its search_path); the target schema by default. */
  schema?: string;
  /** The parallel workers a build in it may take (max_parallel_maintenance_workers, for its transaction alone). */
  parallelWorkers?: number;
}

/** A failed step's error: it names the step and its table, and keeps the code (a restarted server is transient). */
export function stepError(step: string, table: string | null, err: unknown): Error {
  const on = table ? ` on table ${table}` : '';
  return Object.assign(new Error(`building ${step}${on} failed: ${(err as Error).message}`, { cause: err }), {
    code: (err as { code?: string }).code,
  });
}

/** Runs a step unless it is recorded done; its DDL and done-row in one transaction. */
export async function runStep(
  c: Client,
  shadow: string,
  schema: string,
  step: Step,
  log: Logger,
): Promise<void> {
  const t0 = performance.now();
  const ran = await inTransaction(c, async () => {
    if (!(await claimStep(c, shadow, step.name))) return false;
    const workers =
      step.parallelWorkers === undefined
        ? ''
        : `; SET LOCAL max_parallel_maintenance_workers = ${Math.trunc(step.parallelWorkers)}`;
    await c.query(`SET LOCAL search_path = ${quoteIdent(step.schema ?? schema)}${workers}`);
    await c.query(step.sql);
    await markStepDone(c, shadow, step.name, (performance.now() - t0) / 1000);
    return true;
  });
  if (!ran) return;
  faultPoint('after-load.step-done');
  log.debug({ step: step.name, seconds: (performance.now() - t0) / 1000 }, 'post-load step done');
}

/**
 * Adds a foreign key NOT VALID (no scan, a short lock); its validation is a step of its own. Nothing
 * records it: a run killed before the validation finds it there (duplicate_object) and validates it.
 */
export async function addNotValid(c: Client, schema: string, step: Step): Promise<void> {
  try {
    await inTransaction(c, async () => {
      await c.query(`SET LOCAL search_path = ${quoteIdent(step.schema ?? schema)}`);
      await c.query(step.sql);
    });
  } catch (err) {
    if ((err as { code?: string }).code !== '42710') throw err;
  }
}
