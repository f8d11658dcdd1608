// Bundles ferry's two entry points, each with every module it loads (dependencies included), into
// one file: dist/ferry.mjs (engine/cli/main.ts) and dist/operator.mjs (operator/cli.ts), which
// bin/ferry runs while nothing they were built from is newer. Node otherwise resolves, reads and
// links hundreds of modules on every start (0.3 s of a `ferry run` and of every transfer Pod, 0.5 s
// of the operator's); a bundle starts in a third of that. Plain JavaScript: `npm ci` runs it
// (prepare) on whatever Node the machine has. The SQL Server driver stays outside, loaded on first
// use as before: it is the largest dependency and only an mssql source needs it.
// `node hack/bundle.mjs [outdir]` (default dist/).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// esbuild is a dev dependency: an install without them (`npm ci --omit=dev`) keeps the sources alone.
const esbuild = await import('esbuild').catch((e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  console.error('ferry: esbuild is not installed; bin/ferry runs the TypeScript sources');
  process.exit(0);
});

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = process.argv[2] ?? join(root, 'dist');

const { outputFiles } = await esbuild.build({
  entryPoints: { ferry: join(root, 'engine/cli/main.ts'), operator: join(root, 'operator/cli.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  write: false,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: ['tedious', 'pg-native'],
  // CommonJS dependencies (pg, mysql2...) call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __ferryRequire } from 'node:module'; const require = __ferryRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});

// Written aside, then renamed: a ferry starting meanwhile runs the old bundle or the new, never half of one.
mkdirSync(outdir, { recursive: true });
for (const f of outputFiles) {
  writeFileSync(`${f.path}.${process.pid}`, f.contents, { mode: 0o644 });
  renameSync(`${f.path}.${process.pid}`, f.path);
}
