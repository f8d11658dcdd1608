import { describe, expect, it } from 'vitest';
import { parseManifest } from '../api/manifest.ts';
import { resolveSettings, type Settings } from '../api/settings.ts';
import {
  BOOKKEEPING_MARKER,
  claimantOf,
  describeOwner,
  isOwnedBy,
  markerComment,
  ownerOf,
  parseMarker,
  sameOwner,
  SHADOW_MARKER,
  TARGET_SCHEMA_MARKER,
  whereMismatch,
} from './owner.ts';
import { readIdentity } from './shadow.ts';

function settings(metadata: string, target = 'schema: shop'): Settings {
  return resolveSettings(
    parseManifest(
      `apiVersion: ferry.dev/v1alpha1
kind: Migration
metadata: ${metadata}
spec:
  source: { engine: postgres, host: src, port: 5432, database: app, user: u, password: { env: A }, schema: shop }
  target: { engine: postgres, host: dst, port: 5433, database: app, user: u, password: { env: B }, ${target} }
`,
      'm.yaml',
    ),
  );
}

const a = ownerOf(settings('{ name: shop, namespace: a }'), 'run-1');

describe('owner', () => {
  it('records namespace, name, uid (the Kubernetes one, else the run id) and both ends', () => {
    expect(a).toEqual({
      namespace: 'a',
      name: 'shop',
      uid: 'run-1',
      source: 'src:5432/app',
      sourceSchema: 'shop',
      target: 'dst:5433/app',
      targetSchema: 'shop',
    });
    expect(ownerOf(settings('{ name: shop, namespace: a, uid: k8s-uid }'), 'run-1').uid).toBe('k8s-uid');
    expect(ownerOf(settings('{ name: shop }'), 'r').namespace).toBe('');
  });

  it('belongs to the same namespace and name; a manifest with a uid also needs the same uid', () => {
    expect(isOwnedBy(a, claimantOf(settings('{ name: shop, namespace: a }')))).toBe(true);
    expect(isOwnedBy(a, claimantOf(settings('{ name: shop, namespace: b }')))).toBe(false);
    expect(isOwnedBy(a, claimantOf(settings('{ name: shop }')))).toBe(false);
    expect(isOwnedBy(a, claimantOf(settings('{ name: shop, namespace: a, uid: run-1 }')))).toBe(true);
    expect(isOwnedBy(a, claimantOf(settings('{ name: shop, namespace: a, uid: other }')))).toBe(false);
    expect(isOwnedBy(a, claimantOf(settings('{ name: shop2, namespace: a }')))).toBe(false);
  });

  it('round-trips through the schema comment; an edited comment is no marker', () => {
    for (const kind of [SHADOW_MARKER, BOOKKEEPING_MARKER, TARGET_SCHEMA_MARKER] as const)
      expect(parseMarker(kind, markerComment(kind, a))).toEqual(a);
    expect(parseMarker(BOOKKEEPING_MARKER, markerComment(SHADOW_MARKER, a))).toBeUndefined();
    expect(parseMarker(SHADOW_MARKER, null)).toBeUndefined();
    expect(parseMarker(SHADOW_MARKER, 'my notes')).toBeUndefined();
    expect(parseMarker(SHADOW_MARKER, markerComment(SHADOW_MARKER, a).slice(0, -3))).toBeUndefined();
    const renamed = markerComment(SHADOW_MARKER, a).replace('migration shop;', 'migration other;');
    expect(parseMarker(SHADOW_MARKER, renamed)).toBeUndefined();
  });

  it("reads an earlier ferry's markers and identity: owned by name, as then", () => {
    const legacy = parseMarker(SHADOW_MARKER, 'ferry shadow schema of migration shop; drop it to fall back');
    expect(legacy).toEqual({ legacy: true, name: 'shop' });
    expect(parseMarker(BOOKKEEPING_MARKER, 'ferry bookkeeping of migration shop')).toEqual(legacy);
    expect(isOwnedBy(legacy!, claimantOf(settings('{ name: shop, namespace: b }')))).toBe(true);
    expect(sameOwner(legacy!, legacy!)).toBe(true);
    expect(sameOwner(legacy!, a)).toBe(false);
    expect(describeOwner(legacy!)).toMatch(/earlier ferry/);
    const id = readIdentity({
      migration: 'shop',
      sourceSchema: 'shop',
      target: 'dst:5433/app/shop',
      planHash: 'h',
    });
    expect(whereMismatch(id, claimantOf(settings('{ name: shop }')))).toBeUndefined();
    expect(whereMismatch(id, claimantOf(settings('{ name: shop }', 'schema: other')))).toMatch(
      /started for target dst:5433\/app schema shop .*the manifest says target dst:5433\/app schema other/,
    );
  });

  it('tells markers of two owners apart by namespace and uid', () => {
    const b = ownerOf(settings('{ name: shop, namespace: b }'), 'run-1');
    expect(sameOwner(a, { ...a })).toBe(true);
    expect(sameOwner(a, b)).toBe(false);
    expect(sameOwner(a, { ...a, uid: 'run-2' })).toBe(false);
  });

  it('names both places when the target or the source schema moved', () => {
    expect(whereMismatch(a, claimantOf(settings('{ name: shop, namespace: a }')))).toBeUndefined();
    expect(whereMismatch(a, claimantOf(settings('{ name: shop, namespace: a }', 'schema: shop2')))).toBe(
      'started for target dst:5433/app schema shop from source schema shop, the manifest says target dst:5433/app schema shop2 from source schema shop',
    );
  });
});
