// A local copy of one kind kept current by list + watch (an informer, like
// kubernetes-client/javascript's ListWatch): list once, remember the list's resourceVersion,
// watch from it, resume from the last revision seen after a dropped connection, and list again
// only when the server says that revision is gone (ERROR 410). Plain TypeScript on the client's
// fetch and WebSocket, so it runs in Node and in the browser alike.
import { Backoff } from '../schemas/backoff.ts';
import { KINDS, type KindName } from '../schemas/kinds.ts';
import type { LatticeObject, WatchMessage } from '../schemas/types.gen.ts';
import { LatticeApiError, type LatticeClient, type WatchStream } from './api-client.ts';

/**
 * connecting: before the first successful watch; live: a watch is open; reconnecting: the
 * connection dropped (or could not be opened) and a retry is due; stopped: stop() was called.
 */
export type WatchCacheStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface WatchCacheOptions {
  /** A client, or a function giving the current one (its token may be refreshed meanwhile). */
  client: LatticeClient | (() => LatticeClient);
  kind: KindName;
  /** One namespace; all the caller's namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  /** First retry delay after a failure; doubles up to maxRetryMs. Each is jittered down by up to a fifth. */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * A connection that carries nothing (not even the server's BOOKMARKs, every 10 s) for this
   * long is taken as dead and reopened: a half-open TCP connection never reports a close.
   */
  idleTimeoutMs?: number;
}

/** Counters for tests and diagnostics. */
export interface WatchCacheStats {
  /** Full lists (the first one, and one after each 410). */
  lists: number;
  /** Watch connections attempted (each resume is one). */
  watches: number;
  /** ERROR 410 answers: the remembered revision had been compacted away. */
  gone: number;
}

type Listener = () => void;

const DEFAULTS = { retryMs: 500, maxRetryMs: 5_000, idleTimeoutMs: 35_000 };

export function objectKey(object: { metadata: { namespace?: string; name: string } }): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** Namespace, then name: the order never depends on when an object arrived or changed. */
export function byNamespaceAndName(a: LatticeObject, b: LatticeObject): number {
  const ka = objectKey(a);
  const kb = objectKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class WatchCache<T extends LatticeObject = LatticeObject> {
  readonly stats: WatchCacheStats = { lists: 0, watches: 0, gone: 0 };
  private readonly items = new Map<string, T>();
  private sorted: T[] | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly options: Required<Pick<WatchCacheOptions, 'retryMs' | 'maxRetryMs' | 'idleTimeoutMs'>> & WatchCacheOptions;
  private currentStatus: WatchCacheStatus = 'connecting';
  private revision: number | undefined;
  private error: Error | undefined;
  private hasListed = false;
  /** Bumped by start() and stop(): a loop from an earlier start sees it changed and exits. */
  private run = 0;
  private stream: WatchStream | undefined;
  private wake: (() => void) | undefined;

  constructor(options: WatchCacheOptions) {
    this.options = { ...DEFAULTS, ...options };
  }

  get kind(): KindName {
    return this.options.kind;
  }

  get status(): WatchCacheStatus {
    return this.currentStatus;
  }

  /** The revision the cache is current to (what a resumed watch starts from). */
  get resourceVersion(): string | undefined {
    return this.revision === undefined ? undefined : String(this.revision);
  }

  /** True once the first list has arrived (until then, an empty cache means "not known yet"). */
  get synced(): boolean {
    return this.hasListed;
  }

  /** Why the last attempt failed; cleared once a watch is open again. */
  get lastError(): Error | undefined {
    return this.error;
  }

  get size(): number {
    return this.items.size;
  }

  /** Every object, by namespace and name. The same array until something changes. */
  list(): readonly T[] {
    return (this.sorted ??= [...this.items.values()].sort(byNamespaceAndName));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(`${namespace ?? ''}/${name}`);
  }

  /** Called after every change to the objects or the status; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts (or resumes) keeping the cache current. After a stop() the objects and the revision
   * are kept, so a later start() resumes the watch from where it was instead of listing again.
   */
  start(): void {
    if (this.currentStatus !== 'stopped' && this.run > 0) return;
    const run = ++this.run;
    this.setStatus('connecting');
    void this.loop(run);
  }

  stop(): void {
    this.run++;
    this.stream?.close();
    this.stream = undefined;
    this.wake?.();
    this.setStatus('stopped');
  }

  private client(): LatticeClient {
    const { client } = this.options;
    return typeof client === 'function' ? client() : client;
  }

  private async loop(run: number): Promise<void> {
    // Jittered, so the browser tabs and CLIs that lost the same server do not retry in step.
    const backoff = new Backoff({ initialMs: this.options.retryMs, maxMs: this.options.maxRetryMs, jitter: 0.2 });
    while (run === this.run) {
      try {
        if (this.revision === undefined) await this.relist(run);
        if (run !== this.run) return;
        const outcome = await this.watchOnce(run);
        if (outcome === 'gone') {
          // Nothing wrong with the connection: list again straight away.
          this.revision = undefined;
          backoff.reset();
          continue;
        }
        if (outcome === 'dropped') backoff.reset(); // it was open: retry soon
      } catch (error) {
        this.error = error instanceof Error ? error : new Error(String(error));
      }
      if (run !== this.run) return;
      this.setStatus('reconnecting');
      await this.sleep(backoff.next());
    }
  }

  private async relist(run: number): Promise<void> {
    const { kind, namespace, labelSelector } = this.options;
    this.stats.lists++;
    const list = await this.client().list<T>(KINDS[kind].plural, { ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}) });
    if (run !== this.run) return;
    this.items.clear();
    for (const object of list.items) this.items.set(objectKey(object), object);
    this.revision = Number(list.metadata.resourceVersion);
    this.hasListed = true;
    this.changed();
  }

  /** One watch connection, from the remembered revision, until it ends. */
  private async watchOnce(run: number): Promise<'gone' | 'dropped' | 'failed' | 'stopped'> {
    const { kind, namespace, labelSelector, idleTimeoutMs } = this.options;
    this.stats.watches++;
    const client = this.client();
    const stream = client.watch({ kind, resourceVersion: String(this.revision), ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}) });
    this.stream = stream;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const resetIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => stream.close(), idleTimeoutMs);
    };
    try {
      resetIdle();
      if (!(await stream.opened)) {
        if (run === this.run) await this.explainFailedOpen(client);
        return run === this.run ? 'failed' : 'stopped';
      }
      if (run !== this.run) return 'stopped';
      this.error = undefined;
      this.setStatus('live');
      for await (const message of stream) {
        if (run !== this.run) return 'stopped';
        resetIdle();
        if (message.type === 'ERROR') {
          if (message.object.code === 410) {
            this.stats.gone++;
            return 'gone';
          }
          throw new Error(`watch ${kind}: ${message.object.code} ${message.object.reason}: ${message.object.message}`);
        }
        this.apply(message);
      }
      return run === this.run ? 'dropped' : 'stopped';
    } finally {
      clearTimeout(idle);
      stream.close();
      if (this.stream === stream) this.stream = undefined;
    }
  }

  private apply(message: Exclude<WatchMessage, { type: 'ERROR' }>): void {
    const revision = Number(message.object.metadata.resourceVersion);
    if (Number.isFinite(revision) && (this.revision === undefined || revision > this.revision)) this.revision = revision;
    if (message.type === 'BOOKMARK') return;
    const object = message.object as T;
    const key = objectKey(object);
    if (message.type === 'DELETED') {
      if (!this.items.delete(key)) return;
    } else {
      this.items.set(key, object);
    }
    this.changed();
  }

  /**
   * A refused WebSocket upgrade tells the browser nothing (no status, no body), so ask the API
   * once why: an expired or revoked token answers 401 here, a server that is down does not
   * answer at all.
   */
  private async explainFailedOpen(client: LatticeClient): Promise<void> {
    try {
      await client.whoami();
      this.error = new Error(`watch ${this.options.kind}: the connection was refused`);
    } catch (error) {
      this.error = error instanceof LatticeApiError ? error : new Error(`watch ${this.options.kind}: the server is not answering (${(error as Error).message})`);
    }
  }

  private changed(): void {
    this.sorted = undefined;
    this.notify();
  }

  private setStatus(status: WatchCacheStatus): void {
    if (this.currentStatus === status) return;
    this.currentStatus = status;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
