// Configuration: the transfer can reach both sides with the connections it needs (one source and
// one target connection per worker, plus ferry's own).
import { describeEndpoint, withClient, type Endpoint } from '../db/connect.ts';
import { ConfigError } from '../db/password.ts';
import type { Context } from './context.ts';

async function freeConnections(e: Endpoint): Promise<number> {
  return withClient(e, 'configure', async (c) => {
    const { rows } = await c.query<{ free: number }>(
      `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
              - (SELECT count(*) FROM pg_stat_activity)::int AS free`,
    );
    return rows[0]!.free;
  });
}

/** `sides`: both, or the one a system move's step works on (ferry export: the source; ferry import: the target). */
export async function configuration(
  ctx: Context,
  sides: readonly Endpoint[] = [ctx.source, ctx.target],
): Promise<void> {
  const needed = ctx.settings.parallelism + 2;
  for (const e of sides) {
    const free = await freeConnections(e);
    if (free < needed)
      throw new ConfigError(
        `${describeEndpoint(e)}: ${free} free connections, the transfer needs ${needed} (parallelism ${ctx.settings.parallelism} + 2); ` +
          'lower spec.transfer.parallelism or raise max_connections',
      );
  }
  ctx.log.info({ connectionsNeeded: needed }, 'transfer connectivity checked');
}
