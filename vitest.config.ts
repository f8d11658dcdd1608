import { defineConfig } from 'vitest/config';

// Tests run in tiers, each selectable alone with `--project`:
//   unit          pure functions, no I/O              *.test.ts
//   db            real PostgreSQL servers              *.db.test.ts
//   controlplane  real kube-apiserver (+ databases)   *.cp.test.ts
//   build         the image's Dockerfile, emulated     *.build.test.ts
const tiers = { db: '**/*.db.test.ts', controlplane: '**/*.cp.test.ts', build: '**/*.build.test.ts' };
const ignored = ['**/node_modules/**', '**/dist/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...ignored, ...Object.values(tiers)],
        },
      },
      {
        test: {
          name: 'controlplane',
          include: [tiers.controlplane],
          exclude: ignored,
          globalSetup: ['test/controlplane/setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'build',
          include: [tiers.build],
          exclude: ignored,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'db',
          include: [tiers.db],
          exclude: ignored,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
