// Changes of observed instances go to listeners only when the observed state really changed.
import type { ObservedInstance } from './types.ts';

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
