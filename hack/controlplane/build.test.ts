// build.sh on a machine that cannot build the control plane: it must say what is missing and the
// ways out, not stop silently. Runs the script with an empty cache, so it would have to build.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BUILD = resolve(import.meta.dirname, 'build.sh');
const dir = mkdtempSync(join(tmpdir(), 'ferry-build-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The tools build.sh uses before it needs Go, and nothing else: a Go elsewhere on the machine stays out.
const tools = join(dir, 'tools');
mkdirSync(tools);
for (const t of ['mkdir', 'mktemp', 'date', 'rm', 'sed', 'sort', 'head', 'tail', 'cat', 'printf']) {
  const found = spawnSync('bash', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
  if (found.startsWith('/')) symlinkSync(found, join(tools, t));
}

/** build.sh with a PATH of those tools plus `bin` (no Go unless bin has one). */
function build(bin: string) {
  const r = spawnSync('/bin/bash', [BUILD], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${tools}`, HOME: dir, FERRY_K8S_CACHE: join(dir, 'cache') },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('control plane build without a usable Go', () => {
  it('names the missing Go, its version and the two ways out', () => {
    const r = build(join(dir, 'empty'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Go is not installed');
    expect(r.stderr).toContain('Go 1.26.0 or newer');
    expect(r.stderr).toContain('hack/kind-up.sh');
    expect(r.stderr).toContain('npx vitest run --project unit --project db');
  });

  it('refuses a Go older than the build needs, naming both versions', () => {
    const bin = join(dir, 'old-go');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'go'),
      '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.22.5 && exit 0\nexit 2\n',
    );
    chmodSync(join(bin, 'go'), 0o755);
    const r = build(bin);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Go 1.22.5 is too old: building the control plane needs Go 1.26.0 or newer');
    expect(r.stderr).toContain('https://go.dev/dl/');
  });
});
