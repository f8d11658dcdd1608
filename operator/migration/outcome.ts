// How a reconcile pass ends, and the one error policy. Pure. A pass returns an Outcome or throws;
// the reconciler translates both once, at the top (CloudNativePG's ErrNextLoop habit): transient
// errors are retried with backoff while the Migration stays in its phase, anything else is terminal.
import { SpecError } from '../../engine/api/manifest.ts';
import { ConfigError } from '../../engine/db/password.ts';
import { FenceError } from '../../engine/fence/fence.ts';
import { CheckError } from '../../engine/phases/checks.ts';
import { PrivilegeError } from '../../engine/phases/privileges.ts';
import { SnapshotLost } from '../../engine/source/dialect.ts';
import { SelectionError } from '../../engine/plan/select.ts';
import { ForeignShadowError } from '../../engine/state/owner.ts';
import { isTransient } from '../../engine/transfer/transfer.ts';
import { ValidationError } from '../../engine/validate/compare.ts';
import { Reason } from '../conditions.ts';

export type Outcome =
  | { kind: 'done' }
  | { kind: 'requeue'; afterMs: number }
  /** A transient error: the same work again after a capped exponential backoff. */
  | { kind: 'retry' }
  | { kind: 'terminal'; reason: string; message: string; phase?: string; table?: string };

export const done: Outcome = { kind: 'done' };
export const requeueAfter = (afterMs: number): Outcome => ({ kind: 'requeue', afterMs });

/** Thrown where a pass finds something retrying cannot fix that is not an engine error (a group out of attempts). */
export class TerminalError extends Error {
  override name = 'TerminalError';
  readonly reason: string;
  readonly table?: string;
  constructor(reason: string, message: string, table?: string) {
    super(message);
    this.reason = reason;
    this.table = table;
  }
}

/** A Secret the spec names is missing: the user can create it, so the pass waits (Degraded) without failing. */
export class SecretMissing extends Error {
  override name = 'SecretMissing';
  readonly reason: string = Reason.SecretNotFound;
}

/** The dump volume's PersistentVolumeClaim is missing: waited for like a Secret. */
export class ClaimMissing extends SecretMissing {
  override name = 'ClaimMissing';
  override readonly reason: string = Reason.ClaimNotFound;
}

export type ErrorClass =
  | { kind: 'transient' }
  | { kind: 'secret'; reason: string }
  | { kind: 'terminal'; reason: string; table?: string };

/** The error and every `cause` behind it. */
function* chain(err: unknown): Generator<unknown> {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/** PostgreSQL: lock not available, statement cancelled (an administrator or a timeout). */
const PG_RETRYABLE = new Set(['55P03', '57014']);

function transient(e: unknown): boolean {
  // The next pass reads in a new snapshot.
  if (isTransient(e) || e instanceof SnapshotLost) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return PG_RETRYABLE.has(code) || code === 'EAI_AGAIN';
  // The apiserver: a conflict, throttling, or a server side error.
  if (typeof code === 'number') return code === 409 || code === 429 || code >= 500;
  // A connection attempt that timed out carries no driver code.
  return /timed out|timeout/i.test(String((e as Error)?.message ?? ''));
}

const TERMINAL_REASONS: [new (...a: never[]) => Error, string][] = [
  [SpecError, Reason.InvalidSpec],
  [ConfigError, Reason.InvalidSpec],
  [SelectionError, Reason.InvalidSpec],
  [CheckError, Reason.ChecksFailed],
  [PrivilegeError, Reason.ChecksFailed],
  [ForeignShadowError, Reason.ChecksFailed],
  [ValidationError, Reason.ValidationFailed],
  [FenceError, Reason.FenceFailed],
];

/**
 * Transient: connection refused/reset/terminated, server shutdown, lock and statement timeouts,
 * apiserver 409/429/5xx, anywhere in the cause chain. Errors ferry recognises as final (invalid spec,
 * failed checks or privileges, validation mismatch, the fence) and every other error are terminal:
 * retrying a SQL error ferry does not know would repeat it.
 */
export function classify(err: unknown): ErrorClass {
  if (err instanceof SecretMissing) return { kind: 'secret', reason: err.reason };
  const table = (err as { table?: string }).table;
  if (err instanceof TerminalError) return { kind: 'terminal', reason: err.reason, table: err.table };
  for (const [type, reason] of TERMINAL_REASONS)
    if (err instanceof type) return { kind: 'terminal', reason, ...(table ? { table } : {}) };
  for (const e of chain(err)) if (transient(e)) return { kind: 'transient' };
  return { kind: 'terminal', reason: Reason.Failed, ...(table ? { table } : {}) };
}

export const messageOf = (err: unknown) => String((err as Error)?.message ?? err);
