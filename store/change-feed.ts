// Fans the change log out to watchers. One tailer per process reads each new commit once
// (after a local commit, or when PostgreSQL NOTIFY says another replica committed) into a
// bounded in-memory window; watchers read from the window, or from the table when they are
// further behind, so a thousand watchers cost one query per commit, not a thousand.
import { GoneError } from './errors.ts';
import type { WatchEventType, StoredObject } from './types.ts';

export interface ChangeRecord {
  revision: number;
  type: WatchEventType;
  /** Every watcher gets this same object: none may change it (see frozen.ts). */
  object: StoredObject;
  /** Labels before a MODIFIED that changed them. */
  prevLabels: Record<string, string> | undefined;
}

export type ReadChanges = (afterRevision: number, limit: number) => Promise<ChangeRecord[]>;

const TAIL_BATCH = 5000;
const RETRY_AFTER_ERROR_MS = 500;
// Waiters' deadlines (bookmarks) are checked by one ticker, not a timer per watcher per event.
const DEADLINE_TICK_MS = 25;

interface Waiter {
  revision: number;
  deadlineMs: number;
  settle(woke: boolean): void;
}

export class ChangeFeed {
  private window: ChangeRecord[] = [];
  private readonly waiters = new Set<Waiter>();
  private ticker: NodeJS.Timeout | undefined;
  private wakeScheduled = false;
  private tailing = false;
  private tailAgain = false;
  private closedFlag = false;

  constructor(
    private readonly readChanges: ReadChanges,
    private lastRevision: number,
    private readonly windowSize = 2_000,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** The newest revision this process has seen committed. */
  get revision(): number {
    return this.lastRevision;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Something may have been committed: read it. Calls made while reading coalesce. */
  signal(): void {
    if (this.closedFlag) return;
    if (this.tailing) {
      this.tailAgain = true;
      return;
    }
    this.tailing = true;
    void this.tail().finally(() => {
      this.tailing = false;
      if (this.tailAgain) {
        this.tailAgain = false;
        this.signal();
      }
    });
  }

  /**
   * This process just committed these changes: take them without reading them back, if they
   * directly follow what the feed has; otherwise (another commit landed in between, or will be
   * announced later) read the log.
   */
  publish(records: readonly ChangeRecord[]): void {
    if (this.closedFlag || records.length === 0) return;
    const fresh = records.filter((r) => r.revision > this.lastRevision);
    if (fresh.length === 0) return;
    if (fresh[0]!.revision !== this.lastRevision + 1) {
      this.signal();
      return;
    }
    this.append(fresh);
  }

  private append(records: readonly ChangeRecord[]): void {
    for (const record of records) this.window.push(record);
    if (this.window.length > 2 * this.windowSize) this.window = this.window.slice(-this.windowSize);
    this.lastRevision = records[records.length - 1]!.revision;
    this.scheduleWake();
  }

  // Watchers run after the current task: the writer that committed answers its caller first.
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const waiter of [...this.waiters]) if (this.lastRevision > waiter.revision) waiter.settle(true);
    });
  }

  private async tail(): Promise<void> {
    try {
      for (;;) {
        const read = await this.readChanges(this.lastRevision, TAIL_BATCH);
        if (this.closedFlag) return;
        // Published meanwhile by a local commit: skip what the feed already has.
        const records = read.filter((r) => r.revision > this.lastRevision);
        if (records.length === 0) {
          if (read.length < TAIL_BATCH) return;
          continue;
        }
        // Another replica compacted past us: the window restarts; watchers behind it get Gone.
        if (records[0]!.revision !== this.lastRevision + 1) this.window = [];
        this.append(records);
        if (read.length < TAIL_BATCH) return;
      }
    } catch (error) {
      this.onError(error);
      setTimeout(() => this.signal(), RETRY_AFTER_ERROR_MS).unref();
    }
  }

  /** Up to limit changes after revision, in order and without gaps; Gone if compacted. */
  async readAfter(revision: number, limit: number): Promise<ChangeRecord[]> {
    if (revision >= this.lastRevision) return [];
    const first = this.window[0];
    if (first && first.revision <= revision + 1) {
      const start = revision + 1 - first.revision;
      return this.window.slice(start, start + limit);
    }
    // Only what the feed has seen: a commit still being made durable is not shown yet.
    const records = (await this.readChanges(revision, limit)).filter((r) => r.revision <= this.lastRevision);
    const oldest = records[0]?.revision;
    if (oldest !== revision + 1) throw new GoneError(revision, oldest === undefined ? this.lastRevision : oldest - 1);
    return records;
  }

  /**
   * Resolves true when a revision beyond `revision` is known, false after timeoutMs or on close.
   * cancel() resolves it false at once.
   */
  waitBeyond(revision: number, timeoutMs: number): { done: Promise<boolean>; cancel: () => void } {
    if (this.lastRevision > revision) return { done: Promise.resolve(true), cancel: () => {} };
    if (this.closedFlag) return { done: Promise.resolve(false), cancel: () => {} };
    let waiter!: Waiter;
    const done = new Promise<boolean>((resolve) => {
      waiter = {
        revision,
        deadlineMs: Date.now() + timeoutMs,
        settle: (woke) => {
          this.waiters.delete(waiter);
          resolve(woke);
        },
      };
    });
    this.waiters.add(waiter);
    this.ticker ??= setInterval(() => this.expireWaiters(), DEADLINE_TICK_MS).unref();
    return { done, cancel: () => waiter.settle(false) };
  }

  private expireWaiters(): void {
    const now = Date.now();
    for (const waiter of [...this.waiters]) if (waiter.deadlineMs <= now) waiter.settle(false);
    if (this.waiters.size === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  close(): void {
    this.closedFlag = true;
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const waiter of [...this.waiters]) waiter.settle(false);
  }
}
