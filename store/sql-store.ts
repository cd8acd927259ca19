// The object store over kysely: written once, run on SQLite and PostgreSQL through a
// DialectAdapter. Writes go through group commit (group-commit.ts) as store transactions
// (store-transaction.ts); reads go to the reader (store-reads.ts); watchers follow the change log
// through a ChangeFeed, which this class feeds with every batch once it is durable.
import type { SpecRevision } from '../schemas/types.gen.ts';
import type { DialectAdapter } from './dialects/adapter.ts';
import { SqlAuthStore, type AuthStore } from './auth-store.ts';
import { SqlReplicaStore, type ReplicaStore } from './replica-store.ts';
import { SqlTunnelPortStore, type TunnelPortStore } from './tunnel-port-store.ts';
import { ChangeFeed } from './change-feed.ts';
import { FencedError, GoneError, InvalidError, mapDriverError } from './errors.ts';
import { FeedWatch } from './feed-watch.ts';
import { GroupCommit, type Fence } from './group-commit.ts';
import { StoreReads, readChanges, readMeta } from './store-reads.ts';
import { WriteBatch, hotStatements, type SqlTransaction, type WriteContext, type WrittenChanges } from './store-transaction.ts';
import type {
  DeleteResult,
  ListQuery,
  ListResult,
  ObjectKey,
  ObjectStore,
  ObjectWatch,
  Precondition,
  StatusUpdate,
  StoreTransaction,
  StoredObject,
  WatchQuery,
} from './types.ts';

export interface SqlStoreOptions {
  /** Clock for timestamps (tests inject one). */
  now?: () => Date;
  /** Kinds whose spec history is kept by generation (rollout history). */
  historyKinds?: readonly string[];
  /** Generations of history kept per object. */
  historyLimit?: number;
  /** Changes kept in memory for watchers; those further behind read the table. */
  watchWindow?: number;
  /** Errors nobody awaits (the change feed's reads); the store retries them itself. */
  onBackgroundError?: (error: unknown) => void;
}

export class SqlStore implements ObjectStore {
  readonly auth: AuthStore;
  readonly replicas: ReplicaStore;
  readonly tunnelPorts: TunnelPortStore;
  private readonly commits: GroupCommit<SqlTransaction, WrittenChanges>;
  private readonly reads: StoreReads;
  private closing: Promise<void> | undefined;
  /** What this store's writes carry: nothing, but in a view made by fenced(). */
  private fence: { epoch: Fence; onFenced: ((error: FencedError) => void) | undefined } | undefined;

  private constructor(
    private readonly adapter: DialectAdapter,
    context: WriteContext,
    private readonly feed: ChangeFeed,
    private readonly stopListening: () => Promise<void>,
    auth: SqlAuthStore,
  ) {
    this.auth = auth;
    this.replicas = new SqlReplicaStore(adapter);
    this.tunnelPorts = new SqlTunnelPortStore(adapter, context.now);
    this.reads = new StoreReads(adapter, context.statements);
    this.commits = new GroupCommit(adapter, {
      open: (trx, execute) => WriteBatch.open(context, trx, execute),
      committed: (done) => {
        const records = done.flatMap((changes) => changes.records);
        if (records.length > 0) feed.publish(records);
      },
      mapError: (error) => mapDriverError(adapter, error),
    });
  }

  static async open(adapter: DialectAdapter, options: SqlStoreOptions = {}): Promise<SqlStore> {
    const context: WriteContext = {
      adapter,
      statements: hotStatements(),
      now: options.now ?? (() => new Date()),
      historyKinds: new Set(options.historyKinds ?? ['Workload']),
      historyLimit: options.historyLimit ?? 10,
    };
    const feed = new ChangeFeed((after, limit) => readChanges(adapter.reader, after, limit), await readMeta(adapter.reader, 'revision'), options.watchWindow, options.onBackgroundError);
    const auth = new SqlAuthStore(adapter);
    const stopListening = await adapter.listen({ commit: () => feed.signal(), revoked: (revocation) => auth.revokedElsewhere(revocation) });
    return new SqlStore(adapter, context, feed, stopListening, auth);
  }

  /**
   * Transactions that arrive while one commits wait, then share one commit, each in its own
   * savepoint (group-commit.ts). One that fails rolls back alone; its revisions are reused by the
   * next, so the log stays gapless.
   */
  transact<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.write(fn);
  }

  /** Every write goes through here: an unfenced one exactly as before fencing existed. */
  private write<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const fence = this.fence;
    if (!fence) return this.commits.run(fn);
    return this.commits.run(fn, fence.epoch).catch((error: unknown) => {
      if (error instanceof FencedError) fence.onFenced?.(error);
      throw error;
    });
  }

  /**
   * A view rather than a wrapper: an object whose prototype is this store, with only its fence and
   * close of its own. So it shares the one group commit (a fenced write and others' unfenced ones
   * batch together; each fenced unit is checked alone, see WriteBatch.admit), every member the
   * interface has or will have passes through with no delegation to keep in step, and the
   * unfenced write path is untouched. epoch is a function because the view is made once, for
   * controllers made once, while the epoch changes with every leadership (and is 0 between them).
   */
  fenced(epoch: () => number, onFenced?: (error: FencedError) => void): ObjectStore {
    const view = Object.create(this) as SqlStore;
    view.fence = { epoch, onFenced };
    // The store is its opener's to close, not the view's holder's.
    view.close = async () => {};
    return view;
  }

  get(key: ObjectKey): Promise<StoredObject> {
    return this.reads.get(key);
  }

  create(object: StoredObject): Promise<StoredObject> {
    return this.transact((tx) => tx.create(object));
  }

  update(object: StoredObject): Promise<StoredObject> {
    return this.transact((tx) => tx.update(object));
  }

  updateStatus(key: ObjectKey, status: unknown, options?: StatusUpdate): Promise<StoredObject> {
    return this.transact((tx) => tx.updateStatus(key, status, options));
  }

  delete(key: ObjectKey, precondition?: Precondition): Promise<DeleteResult> {
    return this.transact((tx) => tx.delete(key, precondition));
  }

  list(query: ListQuery): Promise<ListResult> {
    return this.reads.list(query);
  }

  watch(query: WatchQuery): ObjectWatch {
    if (!Number.isSafeInteger(query.fromRevision) || query.fromRevision < 0) {
      throw new InvalidError([{ path: 'resourceVersion', message: 'must be a non-negative integer revision' }]);
    }
    return new FeedWatch(this.feed, query, async (from) => {
      const compacted = await this.compactedRevision();
      if (from < compacted) throw new GoneError(from, compacted);
    });
  }

  currentRevision(): Promise<number> {
    return this.reads.currentRevision();
  }

  compactedRevision(): Promise<number> {
    return this.reads.compactedRevision();
  }

  async compact(revision: number): Promise<void> {
    if (!Number.isSafeInteger(revision) || revision < 0) {
      throw new InvalidError([{ path: 'revision', message: 'must be a non-negative integer revision' }]);
    }
    await this.write((tx) => tx.compact(revision));
  }

  history(key: ObjectKey): Promise<SpecRevision[]> {
    return this.reads.history(key);
  }

  /** Transactions already asked for still commit; later ones are refused. Closing twice is fine. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.commits.close();
      this.feed.close();
      await this.stopListening();
      await this.adapter.close();
    })());
  }
}
