// What manifest validation says of a YAML document: its problems, or none.
import { parseManifest, SpecError } from '../../engine/api/manifest.ts';

export function problems(yaml: string): string[] {
  try {
    parseManifest(yaml, 'm.yaml');
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  return [];
}
