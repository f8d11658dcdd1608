// A work queue keyed by namespace/name: one reconcile per key at a time, a key added while it runs
// is run again afterwards, failures back off exponentially (capped), results may ask for a requeue
// or for a retry (a transient error the reconciler has already reported: backed off like a failure).
export type Result = { requeueAfterMs?: number; retry?: boolean };

export class WorkQueue {
  private readonly state = new Map<
    string,
    { running: boolean; again: boolean; timer?: NodeJS.Timeout; failures: number }
  >();
  private readonly work: (key: string) => Promise<Result>;
  private readonly onError: (key: string, err: unknown) => void;
  private readonly maxBackoffMs: number;
  private stopped = false;

  constructor(
    work: (key: string) => Promise<Result>,
    onError: (key: string, err: unknown) => void,
    maxBackoffMs = 30_000,
  ) {
    this.work = work;
    this.onError = onError;
    this.maxBackoffMs = maxBackoffMs;
  }

  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const s = this.state.get(key) ?? { running: false, again: false, failures: 0 };
    this.state.set(key, s);
    if (delayMs > 0) {
      if (!s.timer) s.timer = setTimeout(() => ((s.timer = undefined), this.add(key)), delayMs);
      return;
    }
    if (s.running) {
      s.again = true;
      return;
    }
    void this.run(key, s);
  }

  private async run(
    key: string,
    s: { running: boolean; again: boolean; timer?: NodeJS.Timeout; failures: number },
  ): Promise<void> {
    s.running = true;
    s.again = false;
    let next: number | undefined;
    const backoff = () => Math.min(500 * 2 ** s.failures++, this.maxBackoffMs);
    try {
      const r = await this.work(key);
      if (r.retry) next = backoff();
      else {
        s.failures = 0;
        next = r.requeueAfterMs;
      }
    } catch (err) {
      this.onError(key, err);
      next = backoff();
    }
    s.running = false;
    if (s.again) this.add(key);
    else if (next !== undefined) this.add(key, next);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.state.values()) clearTimeout(s.timer);
  }
}
