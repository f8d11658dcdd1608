import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdFiles } from './crd-files.ts';

describe('generated CRDs', () => {
  it('are up to date with engine/api (run npm run gen:crds)', () => {
    for (const [name, text] of Object.entries(crdFiles()))
      expect(readFileSync(join(resolve(import.meta.dirname, '../crds'), name), 'utf8'), `crds/${name}`).toBe(
        text,
      );
  });
});
