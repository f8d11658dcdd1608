import { describe, expect, it } from 'vitest';
import { parseWatchNamespaces } from './scope.ts';

describe('watched namespaces', () => {
  it('is every namespace when unset or empty', () => {
    expect(parseWatchNamespaces(undefined)).toEqual([]);
    expect(parseWatchNamespaces(' , ')).toEqual([]);
  });

  it('reads the comma-separated list the chart hands over, once each', () => {
    expect(parseWatchNamespaces('shop, billing,shop')).toEqual(['shop', 'billing']);
  });

  it('refuses what is not a namespace name, naming it', () => {
    expect(() => parseWatchNamespaces('shop,Billing,a_b')).toThrow(
      'FERRY_WATCH_NAMESPACES: not a namespace name: "Billing", "a_b"',
    );
  });
});
