// Errors of the transfer and what follows it: which are worth another attempt, and which name a table.

/** Attempts at a chunk or step before a transient failure stops the run. */
export const ATTEMPTS = 4;

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
