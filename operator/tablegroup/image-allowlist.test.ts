import { describe, expect, it } from 'vitest';
import { imageAllowed, imageRefusal, parseAllowedImages } from './image-allowlist.ts';

describe('transfer image allowlist', () => {
  it.each([
    ['registry.example.com/ferry:0.1.0', ['registry.example.com/ferry:0.1.0'], true],
    ['registry.example.com/ferry:0.1.1', ['registry.example.com/ferry:0.1.0'], false],
    ['registry.example.com/ferry:0.1.1', ['registry.example.com/ferry:*'], true],
    ['registry.example.com/ferry@sha256:ab', ['registry.example.com/ferry:*'], false],
    ['registry.example.com/team/ferry:1', ['registry.example.com/team/*'], true],
    // A prefix is text, not a path: end it with `/`, `:` or `@` to stay inside a repository.
    ['registry.example.com/team-evil/x:1', ['registry.example.com/team/*'], false],
    ['registry.example.com.evil.io/team/x:1', ['registry.example.com/*'], false],
    ['registry.example.com/ferry', ['registry.example.com/ferry:*'], false],
    ['anything:1', [], false],
  ])('%s against %j: %s', (image, allowed, expected) => {
    expect(imageAllowed(image, allowed)).toBe(expected);
  });

  it('parses the comma-separated list the chart hands over', () => {
    expect(parseAllowedImages(' a:1 , b/*,,')).toEqual(['a:1', 'b/*']);
    expect(parseAllowedImages(undefined)).toEqual([]);
  });

  it('lets a Migration without an override, or naming the installation’s image, through', () => {
    expect(imageRefusal('m', undefined, 'ferry:0.1.0', [])).toBeUndefined();
    expect(imageRefusal('m', 'ferry:0.1.0', 'ferry:0.1.0', [])).toBeUndefined();
    expect(imageRefusal('m', 'r.io/x:1', 'ferry:0.1.0', ['r.io/*'])).toBeUndefined();
  });

  it('refuses any other image by field and name, saying why', () => {
    const off = imageRefusal('migration ns/m', 'evil.io/x:1', 'ferry:0.1.0', []);
    expect(off?.name).toBe('SpecError');
    expect(off?.message).toContain(
      'spec.transferPod.image: evil.io/x:1 is refused: this installation allows no override (the chart value transferPod.allowedImages is empty)',
    );
    expect(imageRefusal('m', 'evil.io/x:1', 'ferry:0.1.0', ['r.io/*', 'ferry:0.2.0'])?.problems).toEqual([
      "spec.transferPod.image: evil.io/x:1 is refused: it is not in the operator's allowlist (r.io/*, ferry:0.2.0); the transfer Pods receive the database passwords",
    ]);
  });
});
