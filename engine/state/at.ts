// Where a migration's state (phase, catalog, plan, report) lives, as ctx.stateAt says: ferry's store
// on the source, reached through its dialect, or, for ferry import (which never connects to the
// source), the bookkeeping schema on the target.
import { schemaExists } from '../db/schemas.ts';
import { withClient } from '../db/connect.ts';
import type { Context } from '../phases/context.ts';
import { withSource } from '../source/dialect.ts';
import { getState, putState } from './table.ts';

export interface StateAccess {
  getState<T>(key: string): Promise<T | undefined>;
  putState(key: string, value: unknown): Promise<void>;
  /** Whether the store exists yet (state is written only once it does). */
  exists(): Promise<boolean>;
}

/** Runs fn on one session of the side holding the state. */
export function withState<T>(
  ctx: Pick<Context, 'source' | 'target' | 'shadow' | 'stateAt'>,
  purpose: string,
  fn: (st: StateAccess) => Promise<T>,
): Promise<T> {
  if (ctx.stateAt === 'source')
    return withSource(ctx.source, purpose, (s) =>
      fn({
        getState: (key) => s.getState(key),
        putState: (key, value) => s.putState(key, value),
        exists: async () => (await s.storeOwner()) !== undefined,
      }),
    );
  return withClient(ctx.target, purpose, (c) =>
    fn({
      getState: (key) => getState(c, ctx.shadow, key),
      putState: (key, value) => putState(c, ctx.shadow, key, value),
      exists: () => schemaExists(c, ctx.shadow),
    }),
  );
}
