// An informer: lists one kind, then watches from the list's revision, keeping an in-memory
// copy with indexes and telling handlers what changed. A watch that falls behind compaction
// (Gone) relists and reports the difference, so nothing is ever missed.
import type { ObjectStore, StoredObject } from '../store/types.ts';
import { frozenInTests } from '../store/frozen.ts';

export type ChangeHandler<T> = (current: T | undefined, previous: T | undefined) => void;

const keyOf = (o: StoredObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class ObjectCache<T extends StoredObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, (object: T) => string[]>();
  // A value most objects have alone (an Instance's uid, its workload) holds its one key as is;
  // a Set of one for each of 10,000 objects cost megabytes.
  private readonly indexes = new Map<string, Map<string, string | Set<string>>>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private compact: (object: T, previous: T | undefined) => T = (object) => object;
  private watch: { close(): void } | undefined;
  private readonly revisionWaiters = new Set<{ revision: number; resolve: () => void }>();
  private stopped = false;
  private revision = 0;

  constructor(
    private readonly store: ObjectStore,
    readonly kind: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Call before start(). */
  addIndex(name: string, values: (object: T) => string[]): void {
    this.indexers.set(name, values);
    this.indexes.set(name, new Map());
  }

  /**
   * Call before start(). Runs on every object as it comes in and returns the one to keep: a place
   * to share parts it has in common with other cached objects. The store hands every watcher the
   * same object, so it returns a copy that swaps a value for a deep-equal one, never changes it.
   */
  compactWith(compact: (object: T, previous: T | undefined) => T): void {
    this.compact = compact;
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Resolves once the first list is in; the watch then runs until stop(). */
  async start(): Promise<void> {
    await this.relist();
    void this.follow();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.get(value);
    if (keys === undefined) return [];
    return typeof keys === 'string' ? [this.objects.get(keys)!] : [...keys].map((k) => this.objects.get(k)!);
  }

  /**
   * Resolves once the cache has seen revision (e.g. a write the caller just made), or after
   * timeoutMs. A controller waits on its own writes so that its next run plans from them
   * rather than from the state before them (which would create the same instances twice).
   */
  caughtUp(revision: number, timeoutMs = 5000): Promise<void> {
    if (this.revision >= revision || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          this.revisionWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      this.revisionWaiters.add(waiter);
    });
  }

  private advance(revision: number): void {
    this.revision = revision;
    for (const waiter of [...this.revisionWaiters]) if (waiter.revision <= revision) waiter.resolve();
  }

  /** Every value some object has under the index (e.g. the workloads with unscheduled instances). */
  indexValues(name: string): string[] {
    return [...(this.indexes.get(name)?.keys() ?? [])];
  }

  stop(): void {
    this.stopped = true;
    this.watch?.close();
    for (const waiter of [...this.revisionWaiters]) waiter.resolve();
  }

  private async relist(): Promise<void> {
    const { items, revision } = await this.store.list({ kind: this.kind });
    const fresh = new Map(items.map((o) => [keyOf(o), frozenInTests(o) as T]));
    for (const [key, previous] of this.objects) if (!fresh.has(key)) this.apply(key, undefined, previous);
    for (const [key, object] of fresh) {
      const previous = this.objects.get(key);
      if (previous?.metadata.resourceVersion !== object.metadata.resourceVersion) this.apply(key, object, previous);
    }
    this.advance(revision);
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        const watch = this.store.watch({ kind: this.kind, fromRevision: this.revision, bookmarkIntervalMs: 30_000 });
        this.watch = watch;
        if (this.stopped) watch.close();
        for await (const event of watch) {
          if (event.type !== 'BOOKMARK') {
            const object = event.object as T;
            const key = keyOf(object);
            this.apply(key, event.type === 'DELETED' ? undefined : object, this.objects.get(key));
          }
          this.advance(event.revision);
        }
      } catch (error) {
        if ((error as { code?: string }).code !== 'Gone') this.onError(error);
        if (this.stopped) return;
        try {
          await this.relist();
        } catch (relistError) {
          this.onError(relistError);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  }

  private apply(key: string, incoming: T | undefined, previous: T | undefined): void {
    if (previous) this.unindex(key, previous);
    const current = incoming && frozenInTests(this.compact(incoming, previous));
    if (current) {
      this.objects.set(key, current);
      this.index(key, current);
    } else this.objects.delete(key);
    for (const handler of this.handlers) handler(current, previous);
  }

  private index(key: string, object: T): void {
    for (const [name, values] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of values(object)) {
        const keys = index.get(value);
        if (keys === undefined || keys === key) index.set(value, key);
        else if (typeof keys === 'string') index.set(value, new Set([keys, key]));
        else keys.add(key);
      }
    }
  }

  private unindex(key: string, object: T): void {
    for (const [name, values] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of values(object)) {
        const keys = index.get(value);
        if (keys === key) index.delete(value);
        else if (typeof keys === 'object') {
          keys.delete(key);
          if (keys.size === 0) index.delete(value);
        }
      }
    }
  }
}
