// DowntimeOptimized with writers, killed at every step inside the phases: chunks, post-load steps,
// snapshot, bulk copy, replay batch, fence, cutover, cleanup; and, with the bulk copy through files
// (method Dump), at each point of its files (fault-loop.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpFaultPointsOf, faultPointsOf } from '../faults.ts';
import { describeKillsWithWriters } from '../../test/support/fault-loop.ts';

describeKillsWithWriters(faultPointsOf('DowntimeOptimized').filter((p) => !/\.(start|end)$/.test(p)));
describeKillsWithWriters(dumpFaultPointsOf('run'), {
  dir: mkdtempSync(join(tmpdir(), 'ferry-faults-dump-')),
});
