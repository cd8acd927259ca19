// Plumbing both runtimes share: operations on one instance run one after the other, and changes
// go to listeners only when the observed state really changed.
import type { ObservedInstance } from './types.ts';

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

/** Listeners of observed instances; an unchanged snapshot is not sent again. */
export class ChangeFanout {
  private readonly listeners = new Set<(instance: ObservedInstance) => void>();
  private readonly lastEmitted = new Map<string, string>();

  subscribe(listener: (instance: ObservedInstance) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(instance: ObservedInstance): void {
    const serialized = JSON.stringify(instance);
    if (this.lastEmitted.get(instance.uid) === serialized) return;
    this.lastEmitted.set(instance.uid, serialized);
    for (const listener of this.listeners) {
      try {
        listener(instance);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  forget(uid: string): void {
    this.lastEmitted.delete(uid);
  }

  clear(): void {
    this.listeners.clear();
    this.lastEmitted.clear();
  }
}
