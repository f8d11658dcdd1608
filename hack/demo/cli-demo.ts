// `npm run demo:cli`: a real migration of a sample shop database from a throwaway PostgreSQL 15 to a
// throwaway PostgreSQL 18 with the ferry CLI: plan, run (live progress), validate, then both
// servers are stopped and removed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startLocalPair, manifestFor } from '../local-pair.ts';
import { createSampleDatabase } from '../sample/sample.ts';

const ferry = resolve(import.meta.dirname, '../../bin/ferry');
const size = Number(process.env['FERRY_DEMO_BYTES'] ?? 50e6);

const pair = await startLocalPair();
const dir = mkdtempSync(join(tmpdir(), 'ferry-demo-'));
let failed = false;
try {
  console.log(`source: PostgreSQL ${pair.source.version} on 127.0.0.1:${pair.source.port}`);
  console.log(`target: PostgreSQL ${pair.target.version} on 127.0.0.1:${pair.target.port}`);
  const c = new pg.Client({ connectionString: pair.source.url('shop') });
  await c.connect();
  console.log(`creating the sample database (about ${Math.round(size / 1e6)} MB) ...`);
  await createSampleDatabase(c, 'shop', size);
  await c.end();
  const manifest = join(dir, 'migration.yaml');
  writeFileSync(
    manifest,
    manifestFor(pair, 'shop-demo', { transfer: { parallelism: 2, splitAbove: '8Mi', chunkRows: 50000 } }),
  );
  for (const args of [['plan'], ['run', '--report-out', join(dir, 'report.json')], ['validate']]) {
    console.log(`\n$ ferry ${args[0]} -f migration.yaml`);
    const r = spawnSync(ferry, [...args, '-f', manifest], {
      stdio: 'inherit',
      env: { ...process.env, ...pair.env },
    });
    if (r.status !== 0) {
      failed = true;
      break;
    }
  }
} finally {
  await pair.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
