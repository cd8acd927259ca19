// Runs operations on one key (an instance) one after the other, whoever asks.

/** Runs operations on one key one after the other (a deploy never overtakes a stop). */
export class KeyedQueue {
  private readonly queues = new Map<string, Promise<void>>();

  run(key: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    const tracked = next.catch(() => {});
    this.queues.set(key, tracked);
    void tracked.then(() => {
      if (this.queues.get(key) === tracked) this.queues.delete(key);
    });
    return next;
  }

  /** Resolves once everything queued so far has run. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }
}
