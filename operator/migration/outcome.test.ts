import { describe, expect, it } from 'vitest';
import { SpecError } from '../../engine/api/manifest.ts';
import { ConnectError } from '../../engine/db/connect.ts';
import { ConfigError } from '../../engine/db/password.ts';
import { CheckError } from '../../engine/phases/checks.ts';
import { SnapshotLost } from '../../engine/source/dialect.ts';
import { TransferError } from '../../engine/transfer/transfer.ts';
import { ValidationError } from '../../engine/validate/compare.ts';
import { Reason } from '../conditions.ts';
import { ClaimMissing, classify, SecretMissing, TerminalError, type ErrorClass } from './outcome.ts';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const api = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code, body: '{}' });
const terminated = pgError('57P01', 'terminating connection due to administrator command');
const transient: ErrorClass = { kind: 'transient' };

describe('classify: the one error policy', () => {
  const cases: [string, unknown, ErrorClass][] = [
    ['an administrator terminated the session', terminated, transient],
    [
      'a post-load build that lost its connection (wrapped, cause kept)',
      new Error('building index hist_acct on table hist failed: terminating connection', {
        cause: terminated,
      }),
      transient,
    ],
    [
      'a chunk copy out of attempts on a dropped connection',
      new TransferError('t', 'copying table t failed', { cause: pgError('08006', 'connection failure') }),
      transient,
    ],
    [
      'connection refused',
      Object.assign(new ConnectError('cannot connect'), { code: 'ECONNREFUSED' }),
      transient,
    ],
    [
      'connection timed out (no driver code)',
      new ConnectError('cannot connect to source: unreachable (connection timed out)'),
      transient,
    ],
    [
      'a lock timeout against the application',
      pgError('55P03', 'canceling statement due to lock timeout'),
      transient,
    ],
    [
      'a chunk reading in a snapshot its restarted server forgot (the next pass takes a new one)',
      new TransferError('t', 'copying table t failed', {
        cause: new SnapshotLost('invalid snapshot identifier: "00000003-0000001B-1"'),
      }),
      transient,
    ],
    [
      'a bare "invalid snapshot identifier" is still terminal: ferry did not recognise it',
      pgError('22023', 'invalid snapshot identifier: "00000003-0000001B-1"'),
      { kind: 'terminal', reason: Reason.Failed },
    ],
    ['the server shutting down', pgError('57P03', 'the database system is starting up'), transient],
    ['apiserver conflict', api(409), transient],
    ['apiserver throttling', api(429), transient],
    ['apiserver unavailable', api(503), transient],
    ['apiserver forbidden', api(403), { kind: 'terminal', reason: Reason.Failed }],
    [
      'bad credentials',
      Object.assign(new ConnectError('authentication failed'), { code: '28P01' }),
      { kind: 'terminal', reason: Reason.Failed },
    ],
    [
      'an invalid spec',
      new SpecError('spec.mode', ['spec.mode: bad']),
      { kind: 'terminal', reason: Reason.InvalidSpec },
    ],
    [
      'started with other settings',
      new ConfigError('started with other settings'),
      { kind: 'terminal', reason: Reason.InvalidSpec },
    ],
    [
      'failed checks',
      new CheckError('table customers exists'),
      { kind: 'terminal', reason: Reason.ChecksFailed },
    ],
    [
      'a validation mismatch',
      new ValidationError('orders', 'differs'),
      { kind: 'terminal', reason: Reason.ValidationFailed, table: 'orders' },
    ],
    [
      'a group out of attempts',
      new TerminalError(Reason.GroupFailed, 'gave up', 'orders'),
      { kind: 'terminal', reason: Reason.GroupFailed, table: 'orders' },
    ],
    ['an unknown SQL error', pgError('42601', 'syntax error'), { kind: 'terminal', reason: Reason.Failed }],
    ['a missing Secret', new SecretMissing('no Secret'), { kind: 'secret', reason: Reason.SecretNotFound }],
    ['a missing dump claim', new ClaimMissing('no claim'), { kind: 'secret', reason: Reason.ClaimNotFound }],
  ];
  it.each(cases)('%s', (_, err, expected) => expect(classify(err)).toEqual(expected));
});
