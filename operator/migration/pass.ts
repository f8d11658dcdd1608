// One reconcile pass over a Migration: the object as observed, the status transactions collected
// on the way, and the one write that sends them. A pass flushes once at its end; an in-process
// phase that may run long (PreProcessing waiting on the application's locks) and the report the
// engine hands over before its cleanup are written when they happen, so status never lags the work.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../engine/log.ts';
import { recordEvent, type Clients, type Migration, type TableGroup } from '../kube.ts';
import { patchStatus } from '../status-patch.ts';
import type { Tx } from './status.ts';

export interface Observed {
  groups: TableGroup[];
  pods: k8s.V1Pod[];
}

export class Pass {
  readonly c: Clients;
  readonly log: Logger;
  readonly generation: number;
  /** The Migration as last read or written. */
  m: Migration;
  private pending: Tx[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(c: Clients, m: Migration, log: Logger) {
    this.c = c;
    this.m = m;
    this.log = log;
    this.generation = m.metadata.generation ?? 0;
  }

  get ns(): string {
    return this.m.metadata.namespace!;
  }

  get name(): string {
    return this.m.metadata.name!;
  }

  update(...txs: Tx[]): void {
    this.pending.push(...txs);
  }

  /**
   * Writes what was collected (serialized: a checkpoint and the final write never race). A failed
   * write is its own caller's to report; the next flush still runs, and sends what it left pending.
   */
  flush(): Promise<void> {
    this.writing = this.writing.catch(() => {}).then(() => this.write());
    return this.writing;
  }

  event(type: 'Normal' | 'Warning', reason: string, note: string): Promise<void> {
    return recordEvent(this.c, this.m, type, reason, note);
  }

  private async write(): Promise<void> {
    if (this.pending.length === 0) return;
    // What is collected while this write is in flight (a phase that starts and ends meanwhile)
    // stays pending for the next one.
    const txs = this.pending.splice(0);
    const before = this.m.status?.phases?.length ?? 0;
    try {
      this.m = await patchStatus(this.c, 'migrations', this.m, txs);
    } catch (err) {
      this.pending.unshift(...txs);
      throw err;
    }
    // One Event per phase entered (the history only grows).
    for (const p of this.m.status?.phases?.slice(before) ?? []) {
      const message =
        this.m.status?.phase === p.phase
          ? (this.m.status.conditions?.find((c) => c.type === 'Ready')?.message ?? p.phase)
          : `${p.phase} running`;
      this.log.info({ phase: p.phase }, `migration phase ${p.phase}`);
      await this.event(p.phase === 'Failed' ? 'Warning' : 'Normal', `Phase${p.phase}`, message);
    }
  }
}
