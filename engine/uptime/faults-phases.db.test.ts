// DowntimeOptimized with writers, killed at every phase boundary (fault-loop.ts).
import { faultPointsOf } from '../faults.ts';
import { describeKillsWithWriters } from '../../test/support/fault-loop.ts';

describeKillsWithWriters(faultPointsOf('DowntimeOptimized').filter((p) => /\.(start|end)$/.test(p)));
