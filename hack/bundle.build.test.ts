// The engine's bundle (hack/bundle.mjs) and how bin/ferry chooses between it and the sources.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
// Node 24 (type stripping), whatever Node runs the tests.
const node = realpathSync(
  existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath,
);
const tmp = mkdtempSync(join(tmpdir(), 'ferry-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (file: string, args: string[], cwd = root) => {
  const r = spawnSync(file, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: `${dirname(node)}:/usr/bin:/bin`, HOME: tmp },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('the bundle', () => {
  it('behaves as the sources: usage, and a bad manifest refused with the same error', () => {
    const out = join(tmp, 'ferry.mjs');
    const built = run(node, [join(root, 'hack/bundle.mjs'), out]);
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    const manifest = join(tmp, 'bad.yaml');
    writeFileSync(
      manifest,
      'apiVersion: ferry.dev/v1alpha1\nkind: Migration\nmetadata: {name: m}\nspec: {source: {engine: oracle}}\n',
    );
    const flags = ['--disable-warning=ExperimentalWarning'];
    for (const args of [['--help'], ['plan', '-f', manifest]]) {
      const bundled = run(node, [...flags, out, ...args]);
      const sources = run(node, [...flags, join(root, 'engine/cli/main.ts'), ...args]);
      expect(bundled, `ferry ${args.join(' ')}`).toEqual(sources);
    }
    expect(run(node, [...flags, out, '--help']).stdout).toContain('usage: ferry');
    expect(run(node, [...flags, out, 'plan', '-f', manifest]).stderr).toMatch(/spec\.source\.engine/);
  });
});

describe('bin/ferry', () => {
  // A tree shaped like the checkout, whose two entry points only say which one ran.
  const tree = join(tmp, 'tree');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'engine/cli'), { recursive: true });
  mkdirSync(join(tree, 'dist'));
  copyFileSync(join(root, 'bin/ferry'), join(tree, 'bin/ferry'));
  writeFileSync(join(tree, 'engine/cli/main.ts'), "console.log('sources');\n");
  writeFileSync(join(tree, 'package-lock.json'), '{}\n');
  const bundle = join(tree, 'dist/ferry.mjs');
  const at = (file: string, seconds: number) => utimesSync(file, seconds, seconds);
  const ferry = () => run('bash', [join(tree, 'bin/ferry'), '--help'], tree).stdout.trim();
  const t0 = 1_700_000_000;
  const settle = () => {
    for (const f of ['engine', 'engine/cli', 'engine/cli/main.ts', 'package-lock.json'])
      at(join(tree, f), t0);
    at(bundle, t0 + 10);
  };

  it('runs the bundle while nothing it was built from is newer', () => {
    writeFileSync(bundle, "console.log('bundle');\n");
    settle();
    expect(ferry()).toBe('bundle');
  });

  it('runs the sources once a source, a new file or the lockfile is newer, or without a bundle', () => {
    writeFileSync(bundle, "console.log('bundle');\n");
    settle();
    at(join(tree, 'engine/cli/main.ts'), t0 + 20);
    expect(ferry(), 'an edited source').toBe('sources');
    settle();
    at(join(tree, 'engine/cli'), t0 + 20);
    expect(ferry(), 'a file added or removed').toBe('sources');
    settle();
    at(join(tree, 'package-lock.json'), t0 + 20);
    expect(ferry(), 'other dependencies').toBe('sources');
    settle();
    rmSync(bundle);
    expect(ferry(), 'no bundle').toBe('sources');
  });
});
