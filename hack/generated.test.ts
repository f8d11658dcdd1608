import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from './generated.ts';

const root = resolve(import.meta.dirname, '..');

describe('generated files', () => {
  it.each(Object.entries(generatedFiles()))('%s is up to date (run npm run generate)', (path, text) => {
    expect(readFileSync(join(root, path), 'utf8'), path).toBe(text);
  });
});
