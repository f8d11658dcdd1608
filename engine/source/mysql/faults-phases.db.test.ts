// DowntimeOptimized from MariaDB with writers, killed at every phase boundary (mysql-fault-loop.ts).
import { faultPointsOf } from '../../faults.ts';
import { describeMysqlKills } from '../../../test/support/mysql-fault-loop.ts';

describeMysqlKills(faultPointsOf('DowntimeOptimized').filter((p) => /\.(start|end)$/.test(p)));
