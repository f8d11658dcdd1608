// Loading the manifest a command works on: a file, or standard input with `-f -`.
import { readFileSync } from 'node:fs';
import { parseManifest } from '../api/manifest.ts';
import { resolveSettings, type Settings } from '../api/settings.ts';

/** A transfer Pod's dump directory: where its volume (spec.transfer.volume) is mounted, as the operator sets it. */
export const DUMP_DIR_ENV = 'FERRY_DUMP_DIR';

/** The manifest from -f, or (in a transfer Pod) from FERRY_MIGRATION and FERRY_DUMP_DIR, which the operator sets. */
export function loadSettings(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Settings {
  const inline = env['FERRY_MIGRATION'];
  const dumpDir = env[DUMP_DIR_ENV];
  if (!file && inline)
    return {
      ...resolveSettings(parseManifest(inline, 'FERRY_MIGRATION')),
      ...(dumpDir !== undefined && { dumpDir }),
    };
  if (!file) throw new UsageError('-f/--filename is required: the Migration manifest');
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  return resolveSettings(parseManifest(text, file === '-' ? '(stdin)' : file));
}

export class UsageError extends Error {
  override name = 'UsageError';
}
