// Execution: the transfer of every table group, then what is built after the load. In Standard mode
// this is the downtime: the fence refuses the application's writes from its start, so every chunk,
// whenever and by whichever process it is copied, reads the same unchanging source.
import { assertFenceHeld, assertNoWritesSeen, raiseFence } from '../fence/fence.ts';
import { afterLoad } from '../transfer/after-load.ts';
import { transferData } from '../transfer/dump.ts';
import { executeDowntimeOptimized } from '../uptime/uptime.ts';
import type { Context } from './context.ts';

/** Standard mode: the downtime begins (idempotent; a resumed run finds the fence up). */
export async function beginDowntime(ctx: Context): Promise<void> {
  const { ended } = await raiseFence(ctx);
  ctx.log.warn(
    { endedSessions: ended, fence: ctx.settings.fenceMode },
    ctx.settings.fenceMode === 'Detect'
      ? 'downtime: the source must stay quiet; any write to a migrated table fails the run'
      : "downtime: the application's writes to the migrated tables are refused until the migration completes or falls back",
  );
}

/** Standard mode, once every group is copied: the fence held, then keys, indexes, FKs, sequences. */
export async function finishCopy(ctx: Context): Promise<void> {
  await assertFenceHeld(ctx);
  if (ctx.settings.fenceMode === 'Detect') await assertNoWritesSeen(ctx);
  await afterLoad(ctx);
}

export async function execution(ctx: Context): Promise<void> {
  if (ctx.settings.mode === 'DowntimeOptimized') return executeDowntimeOptimized(ctx);
  await beginDowntime(ctx);
  await transferData(ctx);
  await finishCopy(ctx);
}
