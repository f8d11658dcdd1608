// The DowntimeOptimized state kept in the shadow schema (key `uptime`): how far the bulk copy, the
// replay and the cutover have come, so that a restarted run continues exactly there.
import { multiSchema } from '../api/settings.ts';
import { partitionRoot } from '../catalog/relations.ts';
import { tableKey } from '../catalog/schemas.ts';
import { matchesAny } from '../plan/select.ts';
import { need, type Context } from '../phases/context.ts';
import { withSource, type SourceSession } from '../source/dialect.ts';
import type { Approval } from './approval.ts';

export interface UptimeState extends Approval {
  bulkCopied?: boolean;
  /** A cutover is under way (the fence is up): a restarted run continues it. */
  cutover?: boolean;
  cutoverStartedAt?: string;
  /** The cutover validated the target: PostProcessing need not again. */
  validated?: boolean;
  /** Why the last cutover failed (the fence was lifted and the replay went on). */
  lastCutoverError?: { message: string; at: string };
  /** A cutover was abandoned but what it built on the target is not yet removed (undoCutover). */
  undoPending?: boolean;
  downtime?: { step: string; seconds: number }[];
}

/**
 * Whether a table moves in uptime: spec.uptime.tables names roots, and a partition follows its root.
 * With several schemas the patterns see `schema.table` (see plan/select.ts).
 */
const inUptime = (ctx: Context, key: string) =>
  matchesAny(
    partitionRoot(need(ctx.catalog, 'catalog').tables, key),
    ctx.settings.uptimeTables,
    multiSchema(ctx.settings),
  );

/** Keys (catalog/schemas.ts) of the tables copied in uptime. */
export const uptimeTables = (ctx: Context) =>
  need(ctx.catalog, 'catalog')
    .tables.map(tableKey)
    .filter((t) => inUptime(ctx, t));

export const downtimeTables = (ctx: Context) =>
  need(ctx.catalog, 'catalog')
    .tables.map(tableKey)
    .filter((t) => !inUptime(ctx, t));

/** On `s` when given (the cutover's own session), else on a new one. */
const onSource = <T>(ctx: Context, s: SourceSession | undefined, fn: (s: SourceSession) => Promise<T>) =>
  s ? fn(s) : withSource(ctx.source, 'state', fn);

export async function readUptime(ctx: Context, s?: SourceSession): Promise<UptimeState> {
  return onSource(ctx, s, async (s) => (await s.getState<UptimeState>('uptime')) ?? {});
}

export async function writeUptime(
  ctx: Context,
  patch: Partial<UptimeState>,
  s?: SourceSession,
): Promise<UptimeState> {
  return onSource(ctx, s, async (s) => {
    const next = { ...((await s.getState<UptimeState>('uptime')) ?? {}), ...patch };
    await s.putState('uptime', next);
    return next;
  });
}

/** Records how long a step of the downtime took (`conns`: the cutover's, whose src may be replaced on retries). */
export async function recordDowntime(
  ctx: Context,
  step: string,
  seconds: number,
  conns?: { src: SourceSession },
): Promise<void> {
  const state = await readUptime(ctx, conns?.src);
  await writeUptime(
    ctx,
    { downtime: [...(state.downtime ?? []).filter((d) => d.step !== step), { step, seconds }] },
    conns?.src,
  );
  ctx.log.info({ step, seconds: Math.round(seconds * 1000) / 1000 }, `downtime step done: ${step}`);
}

/** Runs a step of the downtime and records how long it took. */
export async function downtimeStep(
  ctx: Context,
  step: string,
  fn: () => Promise<void>,
  conns?: { src: SourceSession },
): Promise<void> {
  const t0 = performance.now();
  await fn();
  await recordDowntime(ctx, step, (performance.now() - t0) / 1000, conns);
}
