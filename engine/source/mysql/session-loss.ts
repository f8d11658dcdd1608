// mysql2 tells a streaming query (one without a callback) nothing when its session drops, nor when it
// is issued on a session that is already closed: it only emits the session's 'error' event. Such a
// query would wait for ever (a MariaDB restart mid-run hung the transfer). Sessions note their loss
// here, and streaming queries fail with it, as a connection failure the engine retries on a new
// session.
import type { Connection } from 'mysql2';

const lost = new WeakMap<Connection, Error>();

/** Notes the session's loss when it happens (openReader does, once per session). */
export function noteLoss(c: Connection): void {
  c.on('error', (e: Error) => lost.set(c, e));
}

/** A lost session as the engine retries it (SQLSTATE class 08, as connect.ts normalizeError gives it). */
const lostError = (e: Error): Error =>
  Object.assign(new Error(`the source connection was lost: ${e.message}`, { cause: e }), {
    code: '08006',
    mysqlCode: 'PROTOCOL_CONNECTION_LOST',
  });

/** Calls `fail` once the session is lost (soon, if it already is); returns what stops watching. */
export function onLoss(c: Connection, fail: (err: Error) => void): () => void {
  const dead = lost.get(c);
  if (dead) {
    queueMicrotask(() => fail(lostError(dead)));
    return () => {};
  }
  const lose = (e: Error) => fail(lostError(e));
  c.once('error', lose);
  return () => c.off('error', lose);
}
