// Which images a Migration may run its transfer Pods with. A transfer Pod receives the database
// passwords, so `spec.transferPod.image` would let anyone who can create a Migration run any code
// with them: overrides are refused unless the installation allows the image (the chart's
// `transferPod.allowedImages`, handed over in FERRY_TRANSFER_IMAGES_ALLOWED). Pure.
import { SpecError } from '../../engine/api/manifest.ts';

export const ALLOWED_IMAGES_ENV = 'FERRY_TRANSFER_IMAGES_ALLOWED';

/** The allowlist from its comma-separated form: exact images, or prefixes ending in `*`. */
export const parseAllowedImages = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function imageAllowed(image: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => (a.endsWith('*') ? image.startsWith(a.slice(0, -1)) : image === a));
}

/**
 * Why a Migration's image override is refused, as a spec error naming the field and the image; none
 * when it sets no image, names the installation's own transfer image, or names an allowed one.
 */
export function imageRefusal(
  origin: string,
  image: string | undefined,
  defaultImage: string,
  allowed: readonly string[],
): SpecError | undefined {
  if (image === undefined || image === defaultImage || imageAllowed(image, allowed)) return undefined;
  const why = allowed.length
    ? `it is not in the operator's allowlist (${allowed.join(', ')})`
    : 'this installation allows no override (the chart value transferPod.allowedImages is empty)';
  return new SpecError(origin, [
    `spec.transferPod.image: ${image} is refused: ${why}; the transfer Pods receive the database passwords`,
  ]);
}
