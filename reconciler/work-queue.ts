// The one loop every controller runs in. A deduplicating work queue, "stingy" like client-go's: a
// key waiting is queued once however often it is added; a key is never processed twice at once; a
// key added while it is processed runs again afterwards; failures retry with per-key exponential
// back-off; a result's requeueAfterMs brings the key back then (controller-runtime's
// Result{RequeueAfter}). All of its time is the injected clock's.
import { backoffDelay, type BackoffPolicy } from '../schemas/backoff.ts';
import type { Clock } from '../schemas/clock.ts';
import type { Controller, ReconcileResult } from './controller.ts';

export interface WorkQueueOptions {
  clock: Clock;
  /** Retry delays after consecutive failures of one key (default 5 ms doubling to 30 s). */
  backoff?: Pick<BackoffPolicy, 'initialMs' | 'maxMs'>;
  concurrency?: number;
  onError?: (key: string, error: unknown) => void;
}

export type Handler = (key: string) => Promise<ReconcileResult | void>;

const DEFAULT_BACKOFF = { initialMs: 5, maxMs: 30_000 };

/** The loop for one controller; its errors are reported as `<controller> <key>`. */
export function controllerQueue(controller: Controller, options: WorkQueueOptions): WorkQueue {
  const { onError } = options;
  return new WorkQueue((key) => controller.reconcile(key), { ...options, onError: onError && ((key, error) => onError(`${controller.name} ${key}`, error)) });
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added again while processing: requeue when done. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { handle: unknown; at: number }>();
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly options: WorkQueueOptions,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds key after ms (a later call with a sooner time wins; a later time is ignored). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.options.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.options.clock.clearTimeout(existing.handle);
    const handle = this.options.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
      this.notifyIdle();
    }, ms);
    this.delayed.set(key, { handle, at });
  }

  get length(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is queued, running or waiting on a retry timer. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes adds again after stop(); what was dropped then stays dropped (the caller re-adds what it wants looked at). */
  start(): void {
    this.stopped = false;
  }

  /** Drops every waiting key, delay and retry; runs in progress finish, and nothing follows them. */
  stop(): void {
    this.stopped = true;
    for (const { handle } of this.delayed.values()) this.options.clock.clearTimeout(handle);
    this.delayed.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirty.clear();
    this.failures.clear();
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.active === 0 && this.delayed.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    const concurrency = this.options.concurrency ?? 1;
    while (!this.stopped && this.active < concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.active += 1;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let failed = false;
    let result: ReconcileResult | void = undefined;
    try {
      result = await this.handler(key);
      this.failures.delete(key);
    } catch (error) {
      failed = true;
      this.options.onError?.(key, error);
    }
    this.processing.delete(key);
    this.active -= 1;
    if (failed) {
      const attempt = this.failures.get(key) ?? 0;
      this.failures.set(key, attempt + 1);
      this.dirty.delete(key);
      this.addAfter(key, backoffDelay(attempt, this.options.backoff ?? DEFAULT_BACKOFF));
    } else {
      if (this.dirty.delete(key)) this.add(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    }
    this.pump();
    this.notifyIdle();
  }
}
