import { describe, expect, it } from 'vitest';
import { isTransient } from './transfer.ts';

describe('isTransient', () => {
  it('retries what a restarted or unreachable server causes', () => {
    for (const err of [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      // node-postgres, on a client whose connection failed earlier (a server restarted while idle).
      new Error('Client has encountered a connection error and is not queryable'),
    ])
      expect(isTransient(err), err.message).toBe(true);
  });

  it('does not retry data or SQL errors', () => {
    for (const err of [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      Object.assign(new Error('syntax error'), { code: '42601' }),
      new Error('Client was closed and is not queryable'),
    ])
      expect(isTransient(err), err.message).toBe(false);
  });
});
