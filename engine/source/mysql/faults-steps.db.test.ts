// DowntimeOptimized from MariaDB with writers, killed at every step inside the phases: chunks,
// post-load steps, snapshot, bulk copy, replay batch, fence, cutover, cleanup (mysql-fault-loop.ts).
import { faultPointsOf } from '../../faults.ts';
import { describeMysqlKills } from '../../../test/support/mysql-fault-loop.ts';

describeMysqlKills(faultPointsOf('DowntimeOptimized').filter((p) => !/\.(start|end)$/.test(p)));
