// Lit ReactiveControllers: the only way elements get live data. A WatchController borrows the
// page's cache of one kind while its element is connected and asks for a render when it
// changes, at most once per batch window: a burst of 1,000 watch events becomes a handful of
// renders, not 1,000. Elements read `items` and render; they never touch a socket.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { KindName } from '../../schemas/kinds.ts';
import type { LatticeObject } from '../../schemas/types.gen.ts';
import type { WatchCache } from '../../client/watch-cache.ts';
import type { Lease, LiveSource } from './live-data.ts';

/** Runs fn later; returns a cancel. The default waits batchMs (tests drive it by hand). */
export type Scheduler = (fn: () => void) => () => void;

export const DEFAULT_BATCH_MS = 100;

const timerScheduler =
  (ms: number): Scheduler =>
  (fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  };

export interface WatchControllerOptions {
  batchMs?: number;
  schedule?: Scheduler;
}

export class WatchController<T extends LatticeObject> implements ReactiveController {
  private lease: Lease<T> | undefined;
  private unsubscribe: (() => void) | undefined;
  private cancelPending: (() => void) | undefined;
  private readonly schedule: Scheduler;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: LiveSource,
    readonly kind: KindName,
    options: WatchControllerOptions = {},
  ) {
    this.schedule = options.schedule ?? timerScheduler(options.batchMs ?? DEFAULT_BATCH_MS);
    host.addController(this);
  }

  hostConnected(): void {
    this.lease = this.source.use<T>(this.kind);
    this.unsubscribe = this.lease.cache.subscribe(() => this.changed());
    this.host.requestUpdate();
  }

  hostDisconnected(): void {
    this.cancelPending?.();
    this.cancelPending = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.lease?.release();
    this.lease = undefined;
  }

  get cache(): WatchCache<T> | undefined {
    return this.lease?.cache;
  }

  /** By namespace and name; empty while disconnected. */
  get items(): readonly T[] {
    return this.lease?.cache.list() ?? [];
  }

  /** True once the first list has arrived. */
  get synced(): boolean {
    return this.lease?.cache.synced ?? false;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.lease?.cache.get(namespace, name);
  }

  private changed(): void {
    if (this.cancelPending) return; // a render is already due and will show this change too
    this.cancelPending = this.schedule(() => {
      this.cancelPending = undefined;
      this.host.requestUpdate();
    });
  }
}

/** A clock for ages ("5s", "3m"): one render every intervalMs while the element is connected. */
export class ClockController implements ReactiveController {
  now = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly intervalMs = 5_000,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.now = Date.now();
    this.timer = setInterval(() => {
      this.now = Date.now();
      this.host.requestUpdate();
    }, this.intervalMs);
  }

  hostDisconnected(): void {
    clearInterval(this.timer);
  }
}

/** Renders its element when the page's live status (live / reconnecting) changes. */
export class LiveStatusController implements ReactiveController {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: () => { subscribe(listener: () => void): () => void } | undefined,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.unsubscribe = this.source()?.subscribe(() => this.host.requestUpdate());
  }

  hostDisconnected(): void {
    this.unsubscribe?.();
  }
}

/**
 * Renders a long list a chunk per animation frame: 1,000 new rows become ten quick renders with
 * paints in between instead of one long freeze. Rows already shown stay (the limit only grows).
 */
export class ChunkedRenderController implements ReactiveController {
  private limit: number;
  private frame: number | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly chunk = 100,
  ) {
    this.limit = chunk;
    host.addController(this);
  }

  /** The rows to render now; asks for another render with more until all are shown. */
  take<T>(rows: readonly T[]): readonly T[] {
    if (rows.length <= this.limit) return rows;
    this.frame ??= requestAnimationFrame(() => {
      this.frame = undefined;
      this.limit += this.chunk;
      this.host.requestUpdate();
    });
    return rows.slice(0, this.limit);
  }

  hostDisconnected(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
  }
}
