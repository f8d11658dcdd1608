// Configuration: the transfer can reach both sides with the connections it needs (one source and
// one target connection per worker, plus ferry's own).
import { describeEndpoint, freeConnections, withClient } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import type { Context } from './context.ts';

export async function configuration(ctx: Context): Promise<void> {
  const needed = ctx.settings.parallelism + 2;
  for (const [where, count] of [
    [ctx.source.where, () => ctx.source.freeConnections()],
    [describeEndpoint(ctx.target), () => withClient(ctx.target, 'configure', freeConnections)],
  ] as const) {
    const free = await count();
    if (free < needed)
      throw new ConfigError(
        `${where}: ${free} free connections, the transfer needs ${needed} (parallelism ${ctx.settings.parallelism} + 2); ` +
          'lower spec.transfer.parallelism or raise max_connections',
      );
  }
  ctx.log.info({ connectionsNeeded: needed }, 'transfer connectivity checked');
}
