import { describe, expect, it } from 'vitest';
import { hostPath } from './volumes.ts';

describe('a mounted volume as the pod runner hands it to a local process', () => {
  const mounts = new Map([['/var/lib/ferry/dump', '/tmp/pv-1']]);
  it.each([
    ['/var/lib/ferry/dump', '/tmp/pv-1'],
    ['/var/lib/ferry/dump/shop', '/tmp/pv-1/shop'],
    ['/var/lib/ferry/dump/a/b/', '/tmp/pv-1/a/b'],
    ['/var/lib/ferry/dumpster', '/var/lib/ferry/dumpster'],
    ['--group', '--group'],
    ['{"dumpDir":"/var/lib/ferry/dump"}', '{"dumpDir":"/var/lib/ferry/dump"}'],
  ])('%s -> %s', (value, expected) => expect(hostPath(value, mounts)).toBe(expected));
});
