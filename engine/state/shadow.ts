// ferry's state on the source (the "shadow schema" of DMO): phase, catalog, plan, what it created on
// the target, never the application's data. Each source dialect keeps it in its own way (a schema on
// PostgreSQL, a database on MySQL) under one name; dropping it is the fallback on the source side.
import type { SourceSession } from '../source/dialect.ts';
import { ForeignShadowError, isOwnedBy, type Claimant, type Owner, type Recorded } from './owner.ts';

export const shadowSchemaName = (migration: string) => `ferry_${migration.replaceAll('-', '_')}`;

/** What the shadow schema records about the migration: its owner, and the plan-shaping settings. */
export interface Identity extends Owner {
  /** Hash of the settings that shape the plan: a resumed run must not silently change them. */
  planHash: string;
}

/** The identity row an earlier ferry wrote: the target as host:port/database/schema. */
interface LegacyIdentity {
  migration: string;
  sourceSchema: string;
  target: string;
  planHash: string;
}

/** The stored identity, an earlier ferry's converted to today's shape (its owner stays name-only in the marker). */
export function readIdentity(stored: Identity | LegacyIdentity): Identity {
  if ('uid' in stored) return stored;
  const cut = stored.target.lastIndexOf('/');
  return {
    namespace: '',
    name: stored.migration,
    uid: '',
    source: '',
    sourceSchema: stored.sourceSchema,
    target: stored.target.slice(0, cut),
    targetSchema: stored.target.slice(cut + 1),
    planHash: stored.planHash,
  };
}

/**
 * The owner of the migration's shadow schema when it is this manifest's; undefined when there is none
 * or the schema carries no shadow marker (Checks names it). Another owner's is refused.
 */
export async function ownShadow(
  s: SourceSession,
  shadow: string,
  claimant: Claimant,
): Promise<Recorded | undefined> {
  const owner = await s.storeOwner();
  if (!owner) return undefined;
  if (!isOwnedBy(owner, claimant)) throw new ForeignShadowError(shadow, owner, claimant);
  return owner;
}
