// Errors of the transfer and what follows it: which are worth another attempt, and which name a table.

/**
 * How long a chunk, a step or the cutover keeps retrying transient failures before they stop the
 * run. A budget in time, not attempts: a restarted server or a failover is down for seconds on a
 * quiet machine and for much longer on a loaded one, and sessions ended every few seconds fail
 * attempts quickly.
 */
export const TRANSIENT_WINDOW_MS = 60_000;

/** The pause before attempt `attempt + 1`: doubling from a second, at most 5 s. */
export const backoffMs = (attempt: number): number => Math.min(5000, 500 * 2 ** attempt);

/**
 * A retry budget for one piece of work: true while `err` is transient and the failures began less
 * than TRANSIENT_WINDOW_MS ago.
 */
export function transientBudget(): (err: unknown) => boolean {
  let since: number | undefined;
  return (err) => {
    since ??= Date.now();
    return isTransient(err) && Date.now() - since < TRANSIENT_WINDOW_MS;
  };
}

/** Errors worth another attempt: connection loss and server shutdowns, not data or SQL errors. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  if (/^(08|57P0|53300|40001|40P01)/.test(code)) return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  // node-postgres on a client whose server went away (no code): "Connection terminated unexpectedly",
  // "Client has encountered a connection error and is not queryable".
  return /Connection terminated|connection.*(closed|lost)|connection error and is not queryable/i.test(
    String((err as Error)?.message ?? err),
  );
}

export class TransferError extends Error {
  override name = 'TransferError';
  readonly table: string;
  constructor(table: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.table = table;
  }
}
