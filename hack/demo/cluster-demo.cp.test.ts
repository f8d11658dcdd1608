// The README's first command, `npm run demo`, run as a user runs it (non-interactive, so it cleans up
// and exits): a Migration installed by Helm and applied by kubectl reaches Completed.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('npm run demo: control plane, databases, helm install, kubectl apply, Completed, cleaned up', async () => {
  const r = await promisify(execFile)(process.execPath, [resolve(import.meta.dirname, 'cluster-demo.ts')], {
    env: { ...process.env, FERRY_DEMO_BYTES: '5e6' },
    encoding: 'utf8',
    timeout: 280_000,
  }).catch((err: { stdout: string; stderr: string; message: string }) => {
    throw new Error(`the demo failed: ${err.message}\n${err.stdout}\n${err.stderr}`);
  });
  const out = r.stdout;
  expect(out).toContain('migration.ferry.dev/shop created');
  expect(out).toMatch(/\d\d:\d\d:\d\d {2}Execution/);
  expect(out).toMatch(/migration\.ferry\.dev\/shop\s+Completed\s+100%/);
  expect(out).toMatch(/tablegroup\.ferry\.dev\/shop-g4\s+shop\s+4\s+Succeeded/);
  expect(out).toContain('validated by checksum');
  expect(out).toContain('export KUBECONFIG=');
  // Everything it started is gone: the control plane's directory is removed with it.
  const dir = /export KUBECONFIG=(\S+)\/admin\.kubeconfig/.exec(out)![1]!;
  expect(existsSync(dir), dir).toBe(false);
});
