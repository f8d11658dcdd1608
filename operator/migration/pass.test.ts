import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../engine/log.ts';
import type { Clients, Migration } from '../kube.ts';
import { Pass } from './pass.ts';
import { enterPhase } from './status.ts';

/** An apiserver holding one Migration: status patches applied in order, each answered when `answer` is called. */
function apiserver() {
  let stored = {
    metadata: { name: 'shop', namespace: 'ns', resourceVersion: '1', generation: 1 },
    spec: {},
  } as unknown as Migration;
  const waiting: (() => void)[] = [];
  let failNext = false;
  const custom = {
    patchNamespacedCustomObjectStatus: async ({ body }: { body: jsonpatch.Operation[] }) => {
      await new Promise<void>((r) => waiting.push(r));
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error('apiserver unavailable'), { code: 503 });
      }
      stored = jsonpatch.applyPatch(structuredClone(stored), body).newDocument;
      stored.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 1);
      return structuredClone(stored);
    },
    getNamespacedCustomObject: async () => structuredClone(stored),
  };
  /** Resolves once a patch is in flight (sent, not answered); fails when none is sent within a second. */
  const inFlight = async () => {
    for (let i = 0; !waiting.length; i++) {
      if (i > 200) throw new Error('no status patch was sent');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const c = { custom, events: { createNamespacedEvent: async () => ({}) } } as unknown as Clients;
  return {
    c,
    initial: structuredClone(stored),
    phases: () => (stored.status?.phases ?? []).map((p) => p.phase),
    failNext: () => (failNext = true),
    inFlight,
    /** Answers the patch in flight, once it is. */
    answer: async () => {
      await inFlight();
      waiting.shift()!();
    },
  };
}

const at = new Date('2026-01-01T00:00:00Z');
const phase = (p: 'Preparation' | 'Extraction' | 'Configuration' | 'Checks') => enterPhase(p, p, 1, at);

describe('Pass: the status writes of a reconcile pass', () => {
  it('phases collected while a checkpoint is in flight are written by the next flush, not dropped', async () => {
    const api = apiserver();
    const pass = new Pass(api.c, api.initial, silentLogger);
    pass.update(phase('Preparation'));
    const checkpoint = pass.flush();
    await api.inFlight();
    // Fast phases start and end while the apiserver has not answered yet.
    pass.update(phase('Extraction'), phase('Configuration'));
    pass.update(phase('Checks'));
    const final = pass.flush();
    await api.answer();
    await checkpoint;
    await api.answer();
    await final;
    expect(api.phases()).toEqual(['Preparation', 'Extraction', 'Configuration', 'Checks']);
  });

  it('a failed checkpoint leaves its transactions to the next flush, which still writes', async () => {
    const api = apiserver();
    const pass = new Pass(api.c, api.initial, silentLogger);
    api.failNext();
    pass.update(phase('Preparation'));
    const checkpoint = pass.flush();
    await api.inFlight();
    pass.update(phase('Extraction'));
    const final = pass.flush();
    await api.answer();
    await expect(checkpoint).rejects.toThrow(/apiserver unavailable/);
    await api.answer();
    await final;
    expect(api.phases()).toEqual(['Preparation', 'Extraction']);
  });
});
