// Bundles the engine's CLI (engine/cli/main.ts and every module it loads, dependencies included) into
// one file, dist/ferry.mjs, which bin/ferry runs while no source is newer. Node otherwise resolves,
// reads and links about 530 modules on every start (0.3 s of a `ferry run`, and of every transfer
// Pod); the bundle starts in a third of that. Plain JavaScript: `npm ci` runs it (prepare) on
// whatever Node the machine has. The SQL Server driver stays outside, loaded on first use as before:
// it is most of the bundle's size and only an mssql source needs it. `node hack/bundle.mjs [outfile]`.
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
const outfile = process.argv[2] ?? join(root, 'dist/ferry.mjs');

const { outputFiles } = await esbuild.build({
  entryPoints: [join(root, 'engine/cli/main.ts')],
  outfile,
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
const [bundle] = outputFiles;
mkdirSync(dirname(outfile), { recursive: true });
writeFileSync(`${outfile}.${process.pid}`, bundle.contents, { mode: 0o644 });
renameSync(`${outfile}.${process.pid}`, outfile);
