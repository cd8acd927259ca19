// One watcher: a cursor into the change feed plus a filter. Pull-based, so a slow consumer
// costs a cursor, not a growing queue; if it falls behind compaction it gets Gone.
import type { ChangeFeed, ChangeRecord } from './change-feed.ts';
import { parseLabelSelector, type LabelSelector } from './label-selector.ts';
import type { ObjectWatch, StoredObject, WatchEvent, WatchQuery } from './types.ts';

const READ_BATCH = 500;
const DEFAULT_BOOKMARK_INTERVAL_MS = 10_000;

export interface WatchFilter {
  /** Kind, namespace and predicate; the label selector is applied by projectChange. */
  matches(object: StoredObject): boolean;
  selector: LabelSelector | undefined;
}

export function compileWatchFilter(query: Omit<WatchQuery, 'fromRevision' | 'bookmarkIntervalMs'>): WatchFilter {
  const namespaces = query.namespace === undefined ? undefined : new Set(typeof query.namespace === 'string' ? [query.namespace] : query.namespace);
  const selector = typeof query.labelSelector === 'string' ? parseLabelSelector(query.labelSelector) : query.labelSelector;
  return {
    selector,
    matches: (object) =>
      (query.kind === undefined || object.kind === query.kind) &&
      (namespaces === undefined || namespaces.has(object.metadata.namespace ?? '')) &&
      (query.predicate === undefined || query.predicate(object)),
  };
}

/**
 * What a watcher with this filter sees of a change. With a label selector, an object whose
 * labels stop matching is DELETED for the watcher, and one that starts matching is ADDED.
 */
export function projectChange(record: ChangeRecord, filter: WatchFilter): WatchEvent | undefined {
  const { object, type, revision } = record;
  if (!filter.matches(object)) return undefined;
  if (!filter.selector) return { type, object, revision };
  const matchesNow = filter.selector.matches(object.metadata.labels);
  const matchedBefore = type === 'MODIFIED' && record.prevLabels !== undefined ? filter.selector.matches(record.prevLabels) : matchesNow;
  if (matchesNow && matchedBefore) return { type, object, revision };
  if (matchesNow) return { type: 'ADDED', object, revision };
  if (matchedBefore) return { type: 'DELETED', object, revision };
  return undefined;
}

export class FeedWatch implements ObjectWatch {
  private cursor: number;
  private readonly queue: WatchEvent[] = [];
  private closed = false;
  private started = false;
  private cancelWait: (() => void) | undefined;
  private lastEmitAt = Date.now();
  private readonly bookmarkIntervalMs: number;
  private readonly filter: WatchFilter;

  constructor(
    private readonly feed: ChangeFeed,
    query: WatchQuery,
    /** Throws Gone when fromRevision is already compacted. */
    private readonly checkStart: (fromRevision: number) => Promise<void>,
  ) {
    this.cursor = query.fromRevision;
    this.bookmarkIntervalMs = query.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS;
    this.filter = compileWatchFilter(query);
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    try {
      if (!this.started) {
        this.started = true;
        await this.checkStart(this.cursor);
      }
      while (!this.closed && !this.feed.closed) {
        const event = this.queue.shift();
        if (event) return this.emit(event);
        if (this.feed.revision > this.cursor) {
          for (const record of await this.feed.readAfter(this.cursor, READ_BATCH)) {
            this.cursor = record.revision;
            const projected = projectChange(record, this.filter);
            if (projected) this.queue.push(projected);
          }
          continue;
        }
        const wait = this.feed.waitBeyond(this.cursor, Math.max(0, this.lastEmitAt + this.bookmarkIntervalMs - Date.now()));
        this.cancelWait = wait.cancel;
        const woke = await wait.done;
        this.cancelWait = undefined;
        if (!woke && !this.closed && !this.feed.closed) return this.emit({ type: 'BOOKMARK', revision: this.cursor });
      }
    } catch (error) {
      this.close();
      throw error;
    }
    return { value: undefined, done: true };
  }

  private emit(event: WatchEvent): IteratorResult<WatchEvent> {
    this.lastEmitAt = Date.now();
    return { value: event, done: false };
  }

  async return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  close(): void {
    this.closed = true;
    this.cancelWait?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
