// DowntimeOptimized with writers, killed at every step inside the phases: chunks, post-load steps,
// snapshot, bulk copy, replay batch, fence, cutover, cleanup (fault-loop.ts).
import { faultPointsOf } from '../faults.ts';
import { describeKillsWithWriters } from '../../test/support/fault-loop.ts';

describeKillsWithWriters(faultPointsOf('DowntimeOptimized').filter((p) => !/\.(start|end)$/.test(p)));
