// Writes crds/ from the TypeBox definitions (npm run gen:crds). The files are checked in; a unit
// test fails when they are stale.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crdFiles } from './crd-files.ts';

const dir = resolve(import.meta.dirname, '../crds');
for (const [name, text] of Object.entries(crdFiles())) writeFileSync(join(dir, name), text);
console.log(`wrote ${Object.keys(crdFiles()).join(', ')} to ${dir}`);
