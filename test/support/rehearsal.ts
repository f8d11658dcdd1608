// Helpers for the fault and restart tests: a throwaway pair with the least-privilege roles and a small
// shop database, manifests for the migrator, and what must hold after every recovered run.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { AFTER_COMPLETION, type FaultPoint } from '../../engine/faults.ts';
import { setUpRoles, type Roles } from '../../hack/fixtures/roles.ts';
import { query, startLocalPair, type LocalPair } from '../../hack/local-pair.ts';
import { createSampleDatabase } from '../../hack/sample/sample.ts';
import { runApprovingWhen, type CliResult } from './cli.ts';
import { schemaDigests } from './snapshot.ts';

export interface Rehearsal {
  pair: LocalPair;
  roles: Roles;
  /**
   * A manifest file for the migrator; chunks small enough that every table group has several
   * (spec.transfer's settings are added to those).
   */
  manifest(name: string, spec?: { transfer?: Record<string, unknown> } & Record<string, unknown>): string;
}

export async function startRehearsal(bytes = 2e6): Promise<Rehearsal> {
  const pair = await startLocalPair();
  const roles = await setUpRoles(pair, { populate: (c) => createSampleDatabase(c, 'shop', bytes) });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rehearsal-'));
  return {
    pair,
    roles,
    manifest: (name, { transfer, ...spec } = {}) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        roles.manifest(name, {
          transfer: { parallelism: 2, splitAbove: '256Ki', chunkRows: 2000, ...transfer },
          ...spec,
        }),
      );
      return file;
    },
  };
}

const FERRY_SCHEMAS = "SELECT nspname AS x FROM pg_namespace WHERE nspname LIKE 'ferry\\_%' ORDER BY 1";

/** Drops the migrated schema and any ferry schema from the target. */
export async function resetTarget(pair: LocalPair): Promise<void> {
  for (const r of [{ x: 'shop' }, ...(await query<{ x: string }>(pair.target, FERRY_SCHEMAS))])
    await query(pair.target, `DROP SCHEMA IF EXISTS "${r.x}" CASCADE`);
}

/** Checks' refusal of a target that holds the migrated tables already (a migration completed there). */
export const TARGET_TAKEN =
  /ferry: error: target (table shop\.\w+ already exists|already has an object named shop\.\w+)/;

/**
 * The run after a kill at `point` completes migration `name`; killed past the migration's end, there
 * is nothing to resume: it finds the target holding the tables and refuses, changing nothing.
 */
export function expectResumed(point: FaultPoint, again: CliResult, name: string): void {
  if (AFTER_COMPLETION.includes(point)) {
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(TARGET_TAKEN);
  } else {
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Migration ${name} Completed`);
  }
}

/** Source and target digests of the shop schema, table by table. */
export async function bothDigests(pair: LocalPair) {
  const [source, target] = await Promise.all([
    schemaDigests(pair.source.url('shop'), 'shop'),
    schemaDigests(pair.target.url('shop'), 'shop'),
  ]);
  return { source, target };
}

/** What ferry left behind: schemas on either side, triggers and event triggers on the source. */
export async function ferryLeftovers(pair: LocalPair): Promise<string[]> {
  return [
    // One statement, one snapshot: schemas and triggers as they stood together (a store re-created
    // meanwhile shows whole), each trigger with the function it calls.
    ...(
      await query<{ x: string }>(
        pair.source,
        `SELECT x FROM (
           SELECT 1 AS k, 'source schema ' || nspname AS x FROM pg_namespace WHERE nspname LIKE 'ferry\\_%'
           UNION ALL
           SELECT 2, 'source trigger ' || tgrelid::regclass::text || ' ' || tgname || ' (' || tgfoid::regprocedure::text || ')'
             FROM pg_trigger WHERE tgname LIKE 'ferry\\_%'
           UNION ALL
           SELECT 3, 'source event trigger ' || evtname FROM pg_event_trigger WHERE evtname LIKE 'ferry\\_%'
         ) leftovers ORDER BY k, x`,
      )
    ).map((r) => r.x),
    ...(await query<{ x: string }>(pair.target, FERRY_SCHEMAS)).map((r) => `target schema ${r.x}`),
  ];
}

/** Whether the application may write to every table (a write rolled back): the fence is down. */
export async function applicationCanWrite(roles: Roles): Promise<boolean> {
  const c = new pg.Client({ connectionString: roles.appUrl() });
  await c.connect();
  try {
    await c.query('BEGIN');
    for (const t of ['customers', 'products', 'orders', 'order_items', 'events', 'audit_log'])
      await c.query(`DELETE FROM shop.${t} WHERE false`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '25006') return false;
    throw err;
  } finally {
    await c.query('ROLLBACK').catch(() => {});
    await c.end();
  }
}

/** The replay of migration `dto` has applied changes on the target: when a user would approve the cutover. */
async function replaying(pair: LocalPair): Promise<boolean> {
  const replayed = await query(
    pair.target,
    "SELECT 1 FROM pg_tables WHERE schemaname = 'ferry_dto' AND tablename = 'replayed'",
  );
  return (
    replayed.length > 0 && (await query(pair.target, 'SELECT 1 FROM ferry_dto.replayed LIMIT 1')).length > 0
  );
}

/**
 * `ferry run` of a DowntimeOptimized manifest named `dto`, approving the cutover with `ferry cutover`
 * once the replay runs (unless the run ends first).
 */
export const runApproving = (r: Rehearsal, file: string, env: Record<string, string>) =>
  runApprovingWhen(file, env, () => replaying(r.pair).catch(() => false));
