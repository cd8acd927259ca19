// One WatchCache per kind for the whole page, shared by every element that shows that kind:
// the first user starts its watch, the last one to leave stops it. A stopped cache keeps its
// objects and revision, so coming back to a view resumes the watch instead of listing again.
import type { LatticeClient } from '../../client/api-client.ts';
import { WatchCache, type WatchCacheOptions } from '../../client/watch-cache.ts';
import type { KindName } from '../../schemas/kinds.ts';
import type { LatticeObject } from '../../schemas/types.gen.ts';

export interface Lease<T extends LatticeObject> {
  readonly cache: WatchCache<T>;
  release(): void;
}

/** What a WatchController needs: somewhere to borrow the cache of a kind from. */
export interface LiveSource {
  use<T extends LatticeObject>(kind: KindName): Lease<T>;
}

/** The page as a whole: live only when every watch in use is. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

interface Entry {
  cache: WatchCache;
  users: number;
}

export class LiveData implements LiveSource {
  private readonly entries = new Map<KindName, Entry>();
  private readonly listeners = new Set<() => void>();
  private closed = false;
  private notifiedStatus: LiveStatus | undefined;
  private notifiedError: Error | undefined;

  constructor(
    private readonly client: () => LatticeClient,
    private readonly options: Pick<WatchCacheOptions, 'retryMs' | 'maxRetryMs' | 'idleTimeoutMs'> = {},
  ) {}

  use<T extends LatticeObject>(kind: KindName): Lease<T> {
    let entry = this.entries.get(kind);
    if (!entry) {
      const cache = new WatchCache({ client: this.client, kind, ...this.options });
      cache.subscribe(() => this.notify());
      entry = { cache, users: 0 };
      this.entries.set(kind, entry);
    }
    const used = entry;
    if (used.users++ === 0 && !this.closed) used.cache.start();
    let released = false;
    return {
      cache: used.cache as unknown as WatchCache<T>,
      release: () => {
        if (released) return;
        released = true;
        if (--used.users === 0) used.cache.stop();
        this.notify();
      },
    };
  }

  get status(): LiveStatus {
    const statuses = this.inUse().map((c) => c.status);
    if (statuses.some((s) => s === 'reconnecting')) return 'reconnecting';
    if (statuses.some((s) => s === 'connecting')) return 'connecting';
    return 'live';
  }

  /** The first error among the watches in use (an expired token shows as a 401 here). */
  get lastError(): Error | undefined {
    return this.inUse().find((c) => c.lastError)?.lastError;
  }

  /** Called on any change of status or error; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops every watch for good (signing out). */
  close(): void {
    this.closed = true;
    for (const { cache } of this.entries.values()) cache.stop();
    this.listeners.clear();
  }

  private inUse(): WatchCache[] {
    return [...this.entries.values()].filter((e) => e.users > 0).map((e) => e.cache);
  }

  private notify(): void {
    // Caches notify on every object change; listeners here care about status and errors only.
    const status = this.status;
    const error = this.lastError;
    if (status === this.notifiedStatus && error === this.notifiedError) return;
    this.notifiedStatus = status;
    this.notifiedError = error;
    for (const listener of this.listeners) listener();
  }
}
