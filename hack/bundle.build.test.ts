// The bundles (hack/bundle.mjs) and how bin/ferry chooses between them and the sources.
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

describe('the bundles', () => {
  const flags = ['--disable-warning=ExperimentalWarning'];
  const out = join(tmp, 'dist');

  beforeAll(() => {
    const built = run(node, [join(root, 'hack/bundle.mjs'), out]);
    if (built.status !== 0 || built.stderr) throw new Error(`hack/bundle.mjs failed:\n${built.stderr}`);
  });

  it("the engine's answers as the sources do: usage, and a bad manifest refused with the same error", () => {
    const manifest = join(tmp, 'bad.yaml');
    writeFileSync(
      manifest,
      'apiVersion: ferry.dev/v1alpha1\nkind: Migration\nmetadata: {name: m}\nspec: {source: {engine: oracle}}\n',
    );
    const [help, plan] = [['--help'], ['plan', '-f', manifest]].map((args) => {
      const bundled = run(node, [...flags, join(out, 'ferry.mjs'), ...args]);
      const sources = run(node, [...flags, join(root, 'engine/cli/main.ts'), ...args]);
      expect(bundled, `ferry ${args.join(' ')}`).toEqual(sources);
      return bundled;
    });
    expect(help!.stdout).toContain('usage: ferry');
    expect(plan!.stderr).toMatch(/spec\.source\.engine/);
  });

  it("the operator's loads every module and reaches its argument parser", () => {
    const r = run(node, [...flags, join(out, 'operator.mjs'), '--no-such-option']);
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    expect(r.stderr).toContain('ERR_PARSE_ARGS_UNKNOWN_OPTION');
  });
});

describe('bin/ferry', () => {
  // A tree shaped like the checkout, whose four entry points only say which one ran.
  const tree = join(tmp, 'tree');
  for (const d of ['bin', 'engine/cli', 'operator', 'dist']) mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(join(root, 'bin/ferry'), join(tree, 'bin/ferry'));
  writeFileSync(join(tree, 'engine/cli/main.ts'), "console.log('engine sources');\n");
  writeFileSync(join(tree, 'operator/cli.ts'), "console.log('operator sources');\n");
  writeFileSync(join(tree, 'package-lock.json'), '{}\n');
  const bundles = { engine: join(tree, 'dist/ferry.mjs'), operator: join(tree, 'dist/operator.mjs') };
  const at = (file: string, seconds: number) => utimesSync(file, seconds, seconds);
  const ferry = (...args: string[]) => run('bash', [join(tree, 'bin/ferry'), ...args], tree).stdout.trim();
  const both = () => `${ferry('--help')}, ${ferry('operator')}`;
  const t0 = 1_700_000_000;
  const settle = () => {
    for (const [name, file] of Object.entries(bundles)) {
      writeFileSync(file, `console.log('${name} bundle');\n`);
      at(file, t0 + 10);
    }
    for (const f of [
      'engine',
      'engine/cli',
      'engine/cli/main.ts',
      'operator',
      'operator/cli.ts',
      'package-lock.json',
    ])
      at(join(tree, f), t0);
  };

  it('runs each bundle while nothing it was built from is newer', () => {
    settle();
    expect(both()).toBe('engine bundle, operator bundle');
  });

  it('runs the sources once a source, a new file or the lockfile is newer, or without a bundle', () => {
    for (const [why, newer, ran] of [
      ['an edited engine source', 'engine/cli/main.ts', 'engine sources, operator sources'],
      ['an edited operator source', 'operator/cli.ts', 'engine bundle, operator sources'],
      ['a file added or removed', 'engine/cli', 'engine sources, operator sources'],
      ['other dependencies', 'package-lock.json', 'engine sources, operator sources'],
    ] as const) {
      settle();
      at(join(tree, newer), t0 + 20);
      expect(both(), why).toBe(ran);
    }
    settle();
    rmSync(bundles.engine);
    expect(both(), 'no engine bundle').toBe('engine sources, operator bundle');
  });
});
