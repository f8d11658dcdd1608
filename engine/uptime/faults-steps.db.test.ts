// DowntimeOptimized with writers, killed at every step inside the phases: chunks, post-load steps,
// snapshot, bulk copy, replay batch, fence, cutover, cleanup; and, with the bulk copy through files
// (method Dump), at each point of its files (fault-loop.ts).
import { dumpFaultPointsOf, faultPointsOf } from '../faults.ts';
import { describeKillsWithWriters } from '../../test/support/fault-loop.ts';

describeKillsWithWriters(
  faultPointsOf('DowntimeOptimized').filter((p) => !/\.(start|end)$/.test(p)),
  dumpFaultPointsOf('run'),
);
