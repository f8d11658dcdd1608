// Configuration: the transfer can reach both sides with the connections it needs (one source and
// one target connection per worker, plus ferry's own).
import { describeEndpoint, freeConnections, withClient } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import type { Context } from './context.ts';

type Side = 'source' | 'target';

/** `sides`: both, or the one a system move's step works on (ferry export: the source; ferry import: the target). */
export async function configuration(
  ctx: Context,
  sides: readonly Side[] = ['source', 'target'],
): Promise<void> {
  const needed = ctx.settings.parallelism + 2;
  const count: Record<Side, readonly [string, () => Promise<number>]> = {
    source: [ctx.source.where, () => ctx.source.freeConnections()],
    target: [describeEndpoint(ctx.target), () => withClient(ctx.target, 'configure', freeConnections)],
  };
  for (const [where, countFree] of sides.map((side) => count[side])) {
    const free = await countFree();
    if (free < needed)
      throw new ConfigError(
        `${where}: ${free} free connections, the transfer needs ${needed} (parallelism ${ctx.settings.parallelism} + 2); ` +
          'lower spec.transfer.parallelism or raise max_connections',
      );
  }
  ctx.log.info({ connectionsNeeded: needed }, 'transfer connectivity checked');
}
