// Execution: the transfer of every table group, then what is built after the load.
import { afterLoad } from '../transfer/after-load.ts';
import { transferGroups } from '../transfer/transfer.ts';
import type { Context } from './context.ts';
import { executeDowntimeOptimized } from '../uptime/uptime.ts';

export async function execution(ctx: Context): Promise<void> {
  if (ctx.settings.mode === 'DowntimeOptimized') return executeDowntimeOptimized(ctx);
  await transferGroups(ctx);
  await afterLoad(ctx);
}
