// The one status writer: pure transactions applied to the observed status, the difference sent as a
// JSON Patch whose first op tests the resourceVersion (optimistic lock, no GET before the write). A
// conflict (another writer got there first) re-reads the object and applies the transactions again.
import jsonpatch from 'fast-json-patch';
import { API_GROUP, API_VERSION } from '../engine/api/migration.ts';
import { apiMessage, code, type Clients, type Migration, type TableGroup } from './kube.ts';

type Operation = jsonpatch.Operation;
type Status<T extends Migration | TableGroup> = NonNullable<T['status']>;

/** The ops that turn the observed status into the desired one, behind a test of the resourceVersion; none when equal. */
export function statusPatch(
  observed: object | undefined,
  desired: object,
  resourceVersion: string,
): Operation[] {
  const ops: Operation[] = observed
    ? jsonpatch.compare(observed, desired).map((op) => ({ ...op, path: `/status${op.path}` }))
    : [{ op: 'add', path: '/status', value: desired }];
  if (ops.length === 0) return [];
  return [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }, ...ops];
}

/** A lost optimistic lock: a 409, or the 422 the apiserver answers when a JSON Patch `test` fails. */
export const isConflict = (err: unknown) =>
  code(err) === 409 || (code(err) === 422 && /test/i.test(apiMessage(err)));

const gv = { group: API_GROUP, version: API_VERSION };

/**
 * Applies `txs` to `obj`'s status and writes the difference. Returns the object as written (or
 * `obj` when nothing changed). Retried on conflict against a fresh read.
 */
export async function patchStatus<T extends Migration | TableGroup>(
  c: Clients,
  plural: 'migrations' | 'tablegroups',
  obj: T,
  txs: readonly ((s: Status<T>) => Status<T>)[],
): Promise<T> {
  const ref = { ...gv, namespace: obj.metadata.namespace!, plural, name: obj.metadata.name! };
  let current = obj;
  for (let attempt = 0; ; attempt++) {
    const desired = txs.reduce((s, tx) => tx(s), structuredClone(current.status ?? {}) as Status<T>);
    const ops = statusPatch(current.status, desired, current.metadata.resourceVersion!);
    if (ops.length === 0) return current;
    try {
      return (await c.custom.patchNamespacedCustomObjectStatus({ ...ref, body: ops })) as T;
    } catch (err) {
      if (code(err) === 404) return current; // deleted meanwhile: nothing left to describe
      if (!isConflict(err) || attempt >= 5) throw err;
      current = (await c.custom.getNamespacedCustomObject(ref)) as T;
    }
  }
}

/**
 * Adds or removes ferry's finalizer with a JSON Patch that tests the resourceVersion, so another
 * controller's finalizer added meanwhile is never dropped; retried against a fresh read on conflict.
 */
export async function setFinalizer(
  c: Clients,
  m: Migration,
  finalizer: string,
  present: boolean,
): Promise<Migration> {
  const ref = { ...gv, namespace: m.metadata.namespace!, plural: 'migrations', name: m.metadata.name! };
  let current = m;
  for (let attempt = 0; ; attempt++) {
    const list = current.metadata.finalizers ?? [];
    if (list.includes(finalizer) === present) return current;
    const next = present ? [...list, finalizer] : list.filter((f) => f !== finalizer);
    const body: Operation[] = [
      { op: 'test', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion },
      { op: 'add', path: '/metadata/finalizers', value: next },
    ];
    try {
      return (await c.custom.patchNamespacedCustomObject({ ...ref, body })) as Migration;
    } catch (err) {
      if (code(err) === 404) return current;
      if (!isConflict(err) || attempt >= 5) throw err;
      current = (await c.custom.getNamespacedCustomObject(ref)) as Migration;
    }
  }
}
