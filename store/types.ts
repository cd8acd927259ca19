// The object store contract. One implementation (SqlStore) over two kysely dialects; the
// conformance suite in tests/store runs against every backend.
import type { ObjectMeta, SpecRevision } from '../schemas/types.gen.ts';
import type { AuthStore } from './auth-store.ts';
import type { FencedError } from './errors.ts';
import type { ReplicaStore } from './replica-store.ts';
import type { TunnelPortStore } from './tunnel-port-store.ts';
import type { LabelSelector } from './label-selector.ts';

/** Any object the store holds. The store knows envelopes, not kinds: specs are opaque. */
export interface StoredObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

/** Cluster-scoped objects have no namespace. */
export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
}

export interface Precondition {
  /** Fail with Conflict unless the object's current resourceVersion is this. */
  resourceVersion?: string;
  /** Fail with Conflict unless the object is this incarnation (not deleted and recreated). */
  uid?: string;
}

export interface StatusUpdate extends Precondition {
  /**
   * The object as the store handed it to the caller (from a watch, a read or a write), unchanged.
   * While it is still the stored revision the update is built from it rather than from the stored
   * body read back: cheaper, and the result shares its unchanged parts with it. A stale one is
   * ignored (it is no precondition). For the control plane's own callers, never a client's object.
   */
  basis?: StoredObject;
}

export interface ListQuery {
  kind: string;
  /** One namespace, several (a user's), or all when absent. */
  namespace?: string | readonly string[];
  labelSelector?: string | LabelSelector;
}

export interface ListResult<T = StoredObject> {
  items: T[];
  /** The store revision the list is a consistent snapshot of: watch from here. */
  revision: number;
}

export interface WatchQuery {
  kind?: string;
  namespace?: string | readonly string[];
  labelSelector?: string | LabelSelector;
  /** Further filter, e.g. authorisation per object. Must be cheap and pure. */
  predicate?: (object: StoredObject) => boolean;
  /** Deliver every change with a revision greater than this. */
  fromRevision: number;
  /** Send a BOOKMARK after this long without an event (default 10 s). */
  bookmarkIntervalMs?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type WatchEvent =
  | { type: WatchEventType; object: StoredObject; revision: number }
  /** The watcher has seen everything up to `revision`; resume from it. */
  | { type: 'BOOKMARK'; revision: number };

/**
 * A running watch. Iterating yields events in revision order, never skipping one that matches;
 * it throws GoneError when its position is compacted away. Objects are shared between watchers:
 * never mutate them.
 */
export interface ObjectWatch extends AsyncIterableIterator<WatchEvent> {
  close(): void;
}

export interface DeleteResult {
  object: StoredObject;
  /** false when finalizers held the object back: it now carries a deletionTimestamp. */
  deleted: boolean;
}

/** Reads and writes that see each other and commit (or roll back) together. */
export interface StoreTransaction {
  get(key: ObjectKey): Promise<StoredObject>;
  /** undefined instead of NotFound. */
  find(key: ObjectKey): Promise<StoredObject | undefined>;
  /** Sets uid, resourceVersion, generation 1 and creationTimestamp; AlreadyExists if present. */
  create(object: StoredObject): Promise<StoredObject>;
  /**
   * Replaces spec, labels, annotations and finalizers; status and server-set metadata stay.
   * metadata.resourceVersion, when given, is a precondition. Bumps generation only when spec
   * changed; writes nothing (and returns the live object) when nothing changed.
   */
  update(object: StoredObject): Promise<StoredObject>;
  /** Replaces status only; never bumps generation. */
  updateStatus(key: ObjectKey, status: unknown, options?: StatusUpdate): Promise<StoredObject>;
  delete(key: ObjectKey, precondition?: Precondition): Promise<DeleteResult>;
}

export interface ObjectStore extends Omit<StoreTransaction, 'find'> {
  /** Users, namespaces, sessions and tokens, in the same database. */
  readonly auth: AuthStore;
  /** The control-plane replicas sharing the database. */
  readonly replicas: ReplicaStore;
  /** The tunnel relay's public ports, per instance port. */
  readonly tunnelPorts: TunnelPortStore;
  /**
   * Runs fn in one transaction: every write gets its own revision, all commit together, and
   * nothing is written if fn throws. A StoreError thrown inside aborts the transaction.
   */
  transact<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  list(query: ListQuery): Promise<ListResult>;
  watch(query: WatchQuery): ObjectWatch;
  /** The newest committed revision. */
  currentRevision(): Promise<number>;
  /** The oldest revision a watch may start from. */
  compactedRevision(): Promise<number>;
  /** Forgets the change log up to and including revision; watches from before it get Gone. */
  compact(revision: number): Promise<void>;
  /** Spec by generation, oldest first (the last few generations are kept). */
  history(key: ObjectKey): Promise<SpecRevision[]>;
  /**
   * This store as the leader's controllers write (DESIGN §10, fencing): every write of the view
   * (create, update, updateStatus, delete, transact, compact) is refused with FencedError, writing
   * nothing, when the stored leader epoch is larger than epoch() at the time it runs; onFenced
   * hears of every refusal, even one its caller swallows. Reads, watches and auth are this store's
   * own; closing the view closes nothing. (SQLite: one process leads; nothing is refused.)
   */
  fenced(epoch: () => number, onFenced?: (error: FencedError) => void): ObjectStore;
  close(): Promise<void>;
}
