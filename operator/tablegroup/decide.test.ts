import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { groupState, MAX_ATTEMPTS } from './decide.ts';

const pod = (attempt: number, phase: string, exitCode?: number, message?: string): k8s.V1Pod => ({
  metadata: { name: `g1-a${attempt}`, labels: { 'ferry.dev/attempt': String(attempt) } },
  status: {
    phase,
    containerStatuses:
      exitCode === undefined
        ? []
        : [
            {
              name: 'transfer',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode, finishedAt: new Date(1000), message } },
            },
          ],
  },
});

describe('table group decisions', () => {
  it('starts the first attempt', () =>
    expect(groupState([], 0, 5)).toEqual({ kind: 'start', attempt: 1, notBefore: 5 }));
  it('waits while the pod runs, and succeeds with it', () => {
    expect(groupState([pod(1, 'Running')], 1, 5)).toEqual({ kind: 'running', pod: 'g1-a1' });
    expect(groupState([pod(1, 'Succeeded', 0)], 1, 5)).toEqual({ kind: 'succeeded' });
  });
  it('retries a failed pod with exponential backoff, naming the failure', () => {
    expect(groupState([pod(2, 'Failed', 1)], 2, 5)).toEqual({
      kind: 'start',
      attempt: 3,
      notBefore: 3000,
      lastError: 'pod g1-a2 exited 1',
    });
  });
  it("names ferry's error from the end of the Pod's log (its termination message)", () => {
    const log =
      '{"level":30,"msg":"import"}\n\nferry: error: /var/lib/ferry/dump/shop/chunks/00001-a.copy.zst: missing\n';
    expect(groupState([pod(1, 'Failed', 1, log)], 1, 5)).toMatchObject({
      lastError: 'pod g1-a1 exited 1: /var/lib/ferry/dump/shop/chunks/00001-a.copy.zst: missing',
    });
  });
  it('retries at once when the pod was deleted mid-transfer', () => {
    expect(groupState([], 1, 7)).toMatchObject({ kind: 'start', attempt: 2, notBefore: 7 });
  });
  it('gives up after the limit', () => {
    expect(groupState([pod(MAX_ATTEMPTS, 'Failed', 1)], MAX_ATTEMPTS, 5)).toMatchObject({ kind: 'failed' });
  });
});
