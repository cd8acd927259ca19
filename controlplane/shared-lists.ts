// The initial lists of watches, shared. Watchers that ask for the same list while the store has
// not moved get one read of the store and one serialisation of each object between them, however
// many they are: 300 watchers of a 10,000-object list once held 300 parsed copies of it and
// serialised every object 300 times (`npm run bench -- slow-clients`). The serialisation is kept
// as bytes, which every watcher's socket writes as they are: a string would be encoded into a
// Buffer of its own for each watcher, garbage as soon as the kernel took it. A list is kept while
// a watcher still sends it. Newcomers share it while the store has not moved, and for a second
// even when it has: a list a little older is as good a start, since the watch goes on from its
// revision and what changed since arrives as events. (With the controllers writing every few
// milliseconds, asking for the same revision gave each of 300 watchers a list of its own.)
import type { ListResult, ObjectStore, StoredObject } from '../store/types.ts';

export interface SharedListQuery {
  kind: string;
  namespace?: string | readonly string[];
  labelSelector?: string;
}

/** How long newcomers share a list after it was asked for, however far the store moved meanwhile. */
export const SHARE_LIST_MS = 1_000;

interface Entry {
  /** The store's revision when the list was asked for: newcomers share it while the store is still there. */
  askedAt: number;
  askedAtMs: number;
  listed: Promise<ListResult>;
  /** Serialised items, filled as the first watcher to send each one needs it. */
  frames: (Buffer | undefined)[];
  users: number;
}

export interface SharedList {
  items: readonly StoredObject[];
  /** The revision the list is a snapshot of: watch from here. */
  revision: number;
  /** items[i] serialised by render (UTF-8), once for every watcher of this list. */
  bytes(i: number, render: (object: StoredObject) => string): Buffer;
  /** This watcher is done with it (sent, or gone). */
  release(): void;
}

export class SharedLists {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: Pick<ObjectStore, 'list' | 'currentRevision'>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async open(query: SharedListQuery): Promise<SharedList> {
    const key = keyOf(query);
    const now = await this.store.currentRevision();
    let entry = this.entries.get(key);
    if (!entry || (entry.askedAt !== now && this.nowMs() - entry.askedAtMs >= SHARE_LIST_MS)) {
      entry = { askedAt: now, askedAtMs: this.nowMs(), listed: this.store.list(query), frames: [], users: 0 };
      this.entries.set(key, entry);
      const created = entry;
      // A failed read is not shared with later watchers.
      created.listed.catch(() => this.entries.get(key) === created && this.entries.delete(key));
    }
    entry.users += 1;
    const { items, revision } = await entry.listed;
    const used = entry;
    let released = false;
    return {
      items,
      revision,
      bytes: (i, render) => (used.frames[i] ??= Buffer.from(render(items[i]!))),
      release: () => {
        if (released) return;
        released = true;
        used.users -= 1;
        if (used.users === 0 && this.entries.get(key) === used) this.entries.delete(key);
      },
    };
  }
}

function keyOf(query: SharedListQuery): string {
  const namespaces = query.namespace === undefined ? null : typeof query.namespace === 'string' ? [query.namespace] : [...query.namespace].sort();
  return JSON.stringify([query.kind, namespaces, query.labelSelector ?? null]);
}
