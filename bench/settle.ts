// Before a timed stretch: both PostgreSQL servers checkpointed and the machine's dirty pages written
// out. The servers (and MariaDB) share this machine's one disk, and the kernel writes dirty pages back
// about 30 s after they were dirtied: without this, the writeback of what the generation or the
// previous job loaded lands in the next job's time (the first run after the generation was 15-25%
// slower than the next ones in every round of the MySQL scenario), or in a downtime window.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { query, type LocalPair } from '../hack/local-pair.ts';

export async function settleDisk(pair: LocalPair): Promise<void> {
  await Promise.all([query(pair.source, 'CHECKPOINT'), query(pair.target, 'CHECKPOINT')]);
  await promisify(execFile)('sync');
  await sleep(1000);
}
