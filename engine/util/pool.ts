// Runs work items with at most `concurrency` at once. Each worker gets its own state (e.g. a pair of
// connections) from `open`, released by `close`. The first failure stops the others from taking
// new items and is rethrown.

export async function runPool<T, S>(
  items: readonly T[],
  concurrency: number,
  open: () => Promise<S>,
  work: (item: T, state: S) => Promise<void>,
  close: (state: S) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    const state = await open();
    try {
      for (let item = queue.shift(); item !== undefined && !failure; item = queue.shift())
        await work(item, state);
    } finally {
      await close(state);
    }
  };
  const n = Math.max(1, Math.min(concurrency, queue.length));
  await Promise.all(
    Array.from({ length: n }, () =>
      worker().catch((error: unknown) => {
        failure ??= { error };
      }),
    ),
  );
  if (failure) throw failure.error;
}
