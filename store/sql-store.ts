// The object store over kysely: written once, run on SQLite and PostgreSQL through a
// DialectAdapter. Every write takes the next global revision, writes the object, and appends to
// the change log in the same transaction; watchers follow the log through a ChangeFeed.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { ChangesTable, Database, SpecRevisionsTable } from './db-schema.ts';
import type { DialectAdapter } from './dialects/adapter.ts';
import { SqlAuthStore, type AuthStore } from './auth-store.ts';
import { ChangeFeed, type ChangeRecord } from './change-feed.ts';
import { handOut } from './frozen.ts';
import { AlreadyExistsError, ConflictError, GoneError, InvalidError, NotFoundError, isStoreError } from './errors.ts';
import { FeedWatch } from './feed-watch.ts';
import { PreparedInsert, PreparedQuery, type Execute } from './prepared-query.ts';
import { parseLabelSelector } from './label-selector.ts';
import { buildMeta, describeKey, keyOf, sameUserMeta, serverMeta, storedObject, userMeta } from './object-meta.ts';
import type {
  DeleteResult,
  ListQuery,
  ListResult,
  ObjectKey,
  ObjectStore,
  ObjectWatch,
  Precondition,
  StatusUpdate,
  SpecRevision,
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

interface PendingTransaction {
  fn: (tx: StoreTransaction) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Transactions sharing one commit at most (bounds how long a commit holds the writer). */
const MAX_GROUP_COMMIT = 256;

/** The statements every write runs, prepared once per store (see prepared-query.ts). */
function hotStatements() {
  const placeholder = (arg: string) => arg as never;
  return {
    // The body is the log row at the object's revision; inside a batch that row is not inserted
    // yet when an earlier transaction of the batch wrote it (see SqlTransaction.find).
    find: new PreparedQuery(3, (db, [kind, namespace, name]) =>
      db
        .selectFrom('objects')
        .leftJoin('changes', 'changes.revision', 'objects.revision')
        .select(['objects.revision', 'changes.object as body'])
        .where('objects.kind', '=', kind!)
        .where('objects.namespace', '=', namespace!)
        .where('objects.name', '=', name!),
    ),
    // A status write from a current basis needs only to know that it is current: no body read.
    revisionOf: new PreparedQuery(3, (db, [kind, namespace, name]) =>
      db.selectFrom('objects').select('revision').where('kind', '=', kind!).where('namespace', '=', namespace!).where('name', '=', name!),
    ),
    insert: new PreparedQuery(5, (db, [kind, namespace, name, uid, revision]) =>
      db.insertInto('objects').values({ kind: kind!, namespace: namespace!, name: name!, uid: uid!, revision: placeholder(revision!) }),
    ),
    update: new PreparedQuery(4, (db, [revision, kind, namespace, name]) =>
      db.updateTable('objects').set({ revision: placeholder(revision!) }).where('kind', '=', kind!).where('namespace', '=', namespace!).where('name', '=', name!),
    ),
    remove: new PreparedQuery(3, (db, [kind, namespace, name]) =>
      db.deleteFrom('objects').where('kind', '=', kind!).where('namespace', '=', namespace!).where('name', '=', name!),
    ),
    saveRevision: new PreparedQuery(1, (db, [revision]) => db.updateTable('meta').set({ value: placeholder(revision!) }).where('key', '=', 'revision')),
    insertSpecRevisions: new PreparedInsert<SpecRevisionsTable>(['uid', 'generation', 'kind', 'namespace', 'name', 'revision', 'spec', 'created_at'], (db, rows) =>
      db.insertInto('spec_revisions').values(rows as never),
    ),
    insertChanges: new PreparedInsert<ChangesTable>(['revision', 'kind', 'namespace', 'name', 'type', 'object', 'prev_labels'], (db, rows) =>
      db.insertInto('changes').values(rows as never),
    ),
  };
}

type HotStatements = ReturnType<typeof hotStatements>;

/** One transaction's changes: the log rows to insert and, once committed, the records to publish. */
interface WrittenChanges {
  rows: ChangesTable[];
  records: ChangeRecord[];
}

interface WriteContext {
  adapter: DialectAdapter;
  statements: HotStatements;
  now: () => Date;
  historyKinds: ReadonlySet<string>;
  historyLimit: number;
}

export class SqlStore implements ObjectStore {
  readonly auth: AuthStore;

  private constructor(
    private readonly adapter: DialectAdapter,
    private readonly context: WriteContext,
    private readonly feed: ChangeFeed,
    private readonly stopListening: () => Promise<void>,
  ) {
    this.auth = new SqlAuthStore(adapter);
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
    const stopListening = await adapter.listen(() => feed.signal());
    return new SqlStore(adapter, context, feed, stopListening);
  }

  get backend(): 'sqlite' | 'postgres' {
    return this.adapter.backend;
  }

  /**
   * Group commit: transactions that arrive while one commits wait, then run one after the
   * other inside a single database transaction, each in its own savepoint, and share one
   * commit (one fsync). A transaction that fails rolls back to its savepoint alone; its
   * revisions are reused by the next, so the log stays gapless.
   */
  transact<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn: fn as (tx: StoreTransaction) => Promise<unknown>, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1 && !this.committing) setImmediate(() => void this.commitPending());
    });
  }

  private readonly pending: PendingTransaction[] = [];
  private committing: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  private commitPending(): Promise<void> {
    this.committing ??= (async () => {
      let settled: Promise<void> = Promise.resolve();
      try {
        // Callers answered while the last batches settle may ask for more: go on until none do.
        do {
          while (this.pending.length > 0) {
            const settle = await this.commitBatch(this.pending.splice(0, MAX_GROUP_COMMIT));
            // The next batch runs while this one is made durable; batches settle in commit order.
            settled = settled.then(settle);
          }
          await settled;
        } while (this.pending.length > 0);
      } finally {
        this.committing = undefined;
      }
    })();
    return this.committing;
  }

  /**
   * Runs the batch and commits it. Resolves with what remains: make the commit durable, then show
   * it to watchers and answer the callers (a no-op when the batch failed as a whole).
   */
  private async commitBatch(batch: PendingTransaction[]): Promise<() => Promise<void>> {
    const outcomes: ({ ok: true; value: unknown; changes: WrittenChanges } | { ok: false; error: unknown })[] = [];
    try {
      const trx = await this.adapter.writer.startTransaction().execute();
      try {
        // Taken before any savepoint: on PostgreSQL a row lock taken inside one would be lost
        // when it rolls back.
        const execute: Execute = this.adapter.executeOnWriter ?? (<R>(query: CompiledQuery) => trx.executeQuery<R>(query));
        const counter = new RevisionCounter(trx, this.context, execute);
        await counter.lock();
        const written = new Map<number, StoredObject>();
        for (const { fn } of batch) {
          await execute(SAVEPOINT);
          const before = counter.revision;
          const tx = new SqlTransaction(trx, this.context, counter, execute, written);
          try {
            const value = await fn(tx);
            const changes = await tx.flush();
            await execute(RELEASE_SAVEPOINT);
            outcomes.push({ ok: true, value, changes });
          } catch (error) {
            await execute(ROLLBACK_TO_SAVEPOINT);
            await execute(RELEASE_SAVEPOINT);
            counter.revision = before;
            outcomes.push({ ok: false, error: this.mapDriverError(error) });
          }
        }
        // The change log rows of the whole batch in as few statements as the dialect allows:
        // inserted in each savepoint they cost a statement per transaction.
        await this.context.statements.insertChanges.run(trx, outcomes.flatMap((o) => (o.ok ? o.changes.rows : [])), this.context.adapter.maxRowsPerInsert, execute);
        await counter.save();
        await trx.commit().execute();
      } catch (error) {
        await trx.rollback().execute().catch(() => {});
        throw error;
      }
    } catch (error) {
      // The commit itself failed (or the database went away): nothing of the batch is written.
      const mapped = this.mapDriverError(error);
      for (const { reject } of batch) reject(mapped);
      return async () => {};
    }
    return async () => {
      try {
        await this.adapter.afterCommit();
      } catch (error) {
        for (const { reject } of batch) reject(this.mapDriverError(error));
        return;
      }
      const committed = outcomes.flatMap((o) => (o.ok ? o.changes.records : []));
      if (committed.length > 0) this.feed.publish(committed);
      outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
    };
  }

  /** Driver errors become domain errors; the caller's own errors pass through untouched. */
  private mapDriverError(error: unknown): unknown {
    if (isStoreError(error) || !this.adapter.isDriverError(error)) return error;
    if (this.adapter.isUniqueViolation(error)) return new AlreadyExistsError('object');
    if (this.adapter.isContention(error)) return new ConflictError('another write got there first; retry');
    return new Error(`${this.adapter.backend} store operation failed`, { cause: error });
  }

  private async read<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await fn(this.adapter.reader);
    } catch (error) {
      throw this.mapDriverError(error);
    }
  }

  get(key: ObjectKey): Promise<StoredObject> {
    return this.read(async (db) => {
      const found = await findObject(db, this.context.statements, key);
      if (!found) throw new NotFoundError(describeKey(key));
      return found;
    });
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

  async list(query: ListQuery): Promise<ListResult> {
    const selector = typeof query.labelSelector === 'string' ? parseLabelSelector(query.labelSelector) : query.labelSelector;
    const namespaces = query.namespace === undefined ? undefined : typeof query.namespace === 'string' ? [query.namespace] : query.namespace;
    if (namespaces?.length === 0) return this.currentRevision().then((revision) => ({ items: [], revision }));
    return this.read(() =>
      this.adapter.snapshot(async (trx) => {
        const revision = await readMeta(trx, 'revision');
        let select = trx.selectFrom('objects').innerJoin('changes', 'changes.revision', 'objects.revision').select('changes.object as body').where('objects.kind', '=', query.kind);
        if (namespaces?.length === 1) select = select.where('objects.namespace', '=', namespaces[0]!);
        else if (namespaces) select = select.where('objects.namespace', 'in', namespaces);
        const rows = await select.orderBy('objects.namespace').orderBy('objects.name').execute();
        const items: StoredObject[] = [];
        for (const row of rows) {
          const object = JSON.parse(row.body) as StoredObject;
          if (!selector || selector.matches(object.metadata.labels)) items.push(object);
        }
        return { items, revision };
      }),
    );
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
    return this.read((db) => readMeta(db, 'revision'));
  }

  compactedRevision(): Promise<number> {
    return this.read((db) => readMeta(db, 'compacted'));
  }

  async compact(revision: number): Promise<void> {
    if (!Number.isSafeInteger(revision) || revision < 0) {
      throw new InvalidError([{ path: 'revision', message: 'must be a non-negative integer revision' }]);
    }
    await this.transact(async (tx) => (tx as SqlTransaction).compact(revision));
  }

  history(key: ObjectKey): Promise<SpecRevision[]> {
    return this.read(async (db) => {
      const current = await findObject(db, this.context.statements, key);
      if (!current) throw new NotFoundError(describeKey(key));
      const rows = await db
        .selectFrom('spec_revisions')
        .select(['generation', 'revision', 'spec', 'created_at'])
        .where('uid', '=', current.metadata.uid!)
        .orderBy('generation')
        .execute();
      return rows.map((row) => ({ generation: row.generation, revision: row.revision, spec: JSON.parse(row.spec), createdAt: row.created_at }));
    });
  }

  /** Transactions already asked for still commit; later ones are refused. Closing twice is fine. */
  close(): Promise<void> {
    this.closed = true;
    return (this.closing ??= (async () => {
      while (this.pending.length > 0 || this.committing) await this.commitPending();
      this.feed.close();
      await this.stopListening();
      await this.adapter.close();
    })());
  }
}

// Run for every transaction of a batch: compiled once.
const SAVEPOINT = CompiledQuery.raw('savepoint lattice_tx');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release savepoint lattice_tx');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to savepoint lattice_tx');

/**
 * The global revision within one database transaction: taken (on PostgreSQL: locked) before the
 * first write, advanced in memory by every write, stored once before commit.
 */
class RevisionCounter {
  revision: number | undefined;
  private taken: number | undefined;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly context: WriteContext,
    private readonly execute: Execute,
  ) {}

  async lock(): Promise<number> {
    if (this.taken === undefined) this.revision = this.taken = await this.context.adapter.lockRevision(this.trx);
    return this.revision!;
  }

  next(): number {
    this.revision! += 1;
    return this.revision!;
  }

  async save(): Promise<void> {
    if (this.taken === undefined || this.revision === this.taken) return;
    await this.execute(this.context.statements.saveRevision.bind(this.trx, [this.revision!]));
    await this.context.adapter.announce(this.trx, this.revision!);
  }
}

class SqlTransaction implements StoreTransaction {
  private readonly changes: WrittenChanges = { rows: [], records: [] };
  private readonly specRevisions: SpecRevisionsTable[] = [];
  private readonly deletedUids = new Set<string>();

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly context: WriteContext,
    private readonly counter: RevisionCounter,
    /** Runs the statements of the batch's transaction (see DialectAdapter.executeOnWriter). */
    private readonly execute: Execute,
    /**
     * The objects the batch wrote so far, by revision: their log rows go in with the batch's, so
     * find cannot read them from the log yet. A transaction that rolled back may leave one here,
     * under a revision no object refers to any more (the next transaction takes it again).
     */
    private readonly written: Map<number, StoredObject>,
  ) {}

  async get(key: ObjectKey): Promise<StoredObject> {
    const found = await this.find(key);
    if (!found) throw new NotFoundError(describeKey(key));
    return found;
  }

  async find(key: ObjectKey): Promise<StoredObject | undefined> {
    const { rows } = await this.run<{ revision: number | string; body: string | null }>(this.context.statements.find, keyArgs(key));
    const row = rows[0];
    if (!row) return undefined;
    if (row.body !== null) return JSON.parse(row.body) as StoredObject;
    const object = this.written.get(Number(row.revision));
    if (!object) throw new Error(`store: ${describeKey(key)} has no body at revision ${row.revision}`);
    return object;
  }

  private run<R>(query: PreparedQuery, args: readonly unknown[]) {
    return this.execute<R>(query.bind(this.trx, args));
  }

  /** The stored object: the caller's basis when that is still the stored revision, else read. */
  private async stored(key: ObjectKey, basis: StoredObject | undefined): Promise<StoredObject> {
    if (basis) {
      const { rows } = await this.run<{ revision: number | string }>(this.context.statements.revisionOf, keyArgs(key));
      if (!rows[0]) throw new NotFoundError(describeKey(key));
      // A revision is one write of one object: a basis at it is exactly what is stored.
      if (basis.metadata.resourceVersion === String(rows[0].revision)) return basis;
    }
    return this.get(key);
  }

  /** Every write starts here: take the counter (PostgreSQL: lock it) before reading what to change. */
  private async lock(): Promise<number> {
    return this.counter.lock();
  }

  private nextRevision(): number {
    return this.counter.next();
  }

  async create(input: StoredObject): Promise<StoredObject> {
    const key = keyOf(input);
    await this.lock();
    const revision = this.nextRevision();
    const metadata = buildMeta(userMeta(input.metadata), { uid: randomUUID(), resourceVersion: String(revision), generation: 1, creationTimestamp: this.now() });
    const object = storedObject(input.apiVersion, key.kind, metadata, input.spec, input.status);
    const body = JSON.stringify(object);
    try {
      await this.run(this.context.statements.insert, [...keyArgs(key), object.metadata.uid!, revision]);
    } catch (error) {
      if (this.context.adapter.isUniqueViolation(error)) throw new AlreadyExistsError(describeKey(key));
      throw error;
    }
    this.recordChange('ADDED', key, revision, object, body, undefined);
    this.recordSpec(object, revision);
    return object;
  }

  async update(input: StoredObject): Promise<StoredObject> {
    const key = keyOf(input);
    await this.lock();
    const current = await this.get(key);
    checkPrecondition(current, { resourceVersion: input.metadata.resourceVersion, uid: input.metadata.uid });
    const before = userMeta(current.metadata);
    const after = userMeta(input.metadata);
    const specChanged = !isDeepStrictEqual(current.spec, input.spec);
    if (!specChanged && sameUserMeta(before, after)) return current;
    const server = serverMeta(current.metadata);
    if (server.deletionTimestamp && !after.finalizers) return this.remove(key, current);
    const revision = this.nextRevision();
    const metadata = buildMeta(after, { ...server, resourceVersion: String(revision), generation: server.generation + (specChanged ? 1 : 0) });
    const object = storedObject(input.apiVersion ?? current.apiVersion, key.kind, metadata, input.spec, current.status);
    const labelsChanged = !isDeepStrictEqual(before.labels ?? {}, after.labels ?? {});
    await this.writeObject(key, object, revision, labelsChanged ? (before.labels ?? {}) : undefined);
    if (specChanged) this.recordSpec(object, revision);
    return object;
  }

  async updateStatus(key: ObjectKey, status: unknown, options: StatusUpdate = {}): Promise<StoredObject> {
    await this.lock();
    const current = await this.stored(key, options.basis);
    checkPrecondition(current, options);
    if (isDeepStrictEqual(current.status, status)) return current;
    const revision = this.nextRevision();
    const object = storedObject(current.apiVersion, current.kind, { ...current.metadata, resourceVersion: String(revision) }, current.spec, status);
    await this.writeObject(key, object, revision, undefined);
    return object;
  }

  async delete(key: ObjectKey, precondition: Precondition = {}): Promise<DeleteResult> {
    await this.lock();
    const current = await this.get(key);
    checkPrecondition(current, precondition);
    if (!current.metadata.finalizers?.length) return { object: await this.remove(key, current), deleted: true };
    if (current.metadata.deletionTimestamp) return { object: current, deleted: false };
    const revision = this.nextRevision();
    const metadata = buildMeta(userMeta(current.metadata), { ...serverMeta(current.metadata), resourceVersion: String(revision), deletionTimestamp: this.now() });
    const object = storedObject(current.apiVersion, current.kind, metadata, current.spec, current.status);
    await this.writeObject(key, object, revision, undefined);
    return { object, deleted: false };
  }

  private async remove(key: ObjectKey, current: StoredObject): Promise<StoredObject> {
    const revision = this.nextRevision();
    const object = storedObject(current.apiVersion, current.kind, { ...current.metadata, resourceVersion: String(revision) }, current.spec, current.status);
    await this.run(this.context.statements.remove, keyArgs(key));
    await this.trx.deleteFrom('spec_revisions').where('uid', '=', current.metadata.uid!).execute();
    this.deletedUids.add(current.metadata.uid!);
    this.recordChange('DELETED', key, revision, object, JSON.stringify(object), undefined);
    return object;
  }

  private async writeObject(key: ObjectKey, object: StoredObject, revision: number, prevLabels: Record<string, string> | undefined): Promise<void> {
    await this.run(this.context.statements.update, [revision, ...keyArgs(key)]);
    this.recordChange('MODIFIED', key, revision, object, JSON.stringify(object), prevLabels);
  }

  /** Logs the write. The object goes to the caller and to watchers as it is (see frozen.ts). */
  private recordChange(type: ChangesTable['type'], key: ObjectKey, revision: number, object: StoredObject, body: string, prevLabels: Record<string, string> | undefined): void {
    this.changes.rows.push({
      revision,
      kind: key.kind,
      namespace: key.namespace ?? '',
      name: key.name,
      type,
      object: body,
      prev_labels: prevLabels === undefined ? null : JSON.stringify(prevLabels),
    });
    this.changes.records.push({ revision, type, object: handOut(object), prevLabels });
    if (type !== 'DELETED') this.written.set(revision, object);
  }

  private recordSpec(object: StoredObject, revision: number): void {
    if (!this.context.historyKinds.has(object.kind)) return;
    this.specRevisions.push({
      uid: object.metadata.uid!,
      generation: object.metadata.generation!,
      kind: object.kind,
      namespace: object.metadata.namespace ?? '',
      name: object.metadata.name,
      revision,
      spec: JSON.stringify(object.spec ?? null),
      created_at: this.now(),
    });
  }

  async compact(revision: number): Promise<void> {
    const current = await this.lock();
    if (revision > current) {
      throw new InvalidError([{ path: 'revision', message: `${revision} is in the future (current revision is ${current})` }]);
    }
    // The rows live objects are at hold their bodies: they stay (see 0004-bodies-in-log.ts).
    await this.trx
      .deleteFrom('changes')
      .where('revision', '<=', revision)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('objects').select('objects.revision').whereRef('objects.revision', '=', 'changes.revision'))))
      .execute();
    await this.trx.updateTable('meta').set({ value: revision }).where('key', '=', 'compacted').where('value', '<', revision).execute();
  }

  /** Writes the spec history; returns the changes, whose log rows the batch inserts. */
  async flush(): Promise<WrittenChanges> {
    if (this.changes.rows.length === 0) return this.changes;
    const { adapter, historyLimit } = this.context;
    const history = this.specRevisions.filter((row) => !this.deletedUids.has(row.uid));
    await this.context.statements.insertSpecRevisions.run(this.trx, history, adapter.maxRowsPerInsert, this.execute);
    for (const row of history) {
      if (row.generation > historyLimit) {
        await this.trx.deleteFrom('spec_revisions').where('uid', '=', row.uid).where('generation', '<=', row.generation - historyLimit).execute();
      }
    }
    return this.changes;
  }

  private now(): string {
    return this.context.now().toISOString();
  }
}

function checkPrecondition(current: StoredObject, { resourceVersion, uid }: Precondition): void {
  if (uid !== undefined && uid !== current.metadata.uid) {
    throw new ConflictError(`${describeKey(keyOf(current))} was deleted and recreated (uid ${current.metadata.uid}, expected ${uid})`);
  }
  if (resourceVersion !== undefined && resourceVersion !== current.metadata.resourceVersion) {
    throw new ConflictError(
      `${describeKey(keyOf(current))} has changed: resourceVersion is ${current.metadata.resourceVersion}, not ${resourceVersion}; get it again and reapply your change`,
    );
  }
}

/** The hot statements' key arguments, in the order they bind them. */
function keyArgs(key: ObjectKey): [string, string, string] {
  return [key.kind, key.namespace ?? '', key.name];
}

/** A committed object (outside a write transaction, its log row is always there). */
async function findObject(db: Kysely<Database>, statements: HotStatements, key: ObjectKey): Promise<StoredObject | undefined> {
  const { rows } = await statements.find.run<{ body: string | null }>(db, keyArgs(key));
  const body = rows[0]?.body;
  if (body === null) throw new Error(`store: ${describeKey(key)} has no body in the log`);
  return body === undefined ? undefined : (JSON.parse(body) as StoredObject);
}

async function readMeta(db: Kysely<Database>, key: 'revision' | 'compacted'): Promise<number> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return Number(row.value);
}

/**
 * The log after a revision. Compaction keeps the rows that live objects' bodies are in; they are
 * not the log any more: a watch from before the compacted revision must see the gap (Gone).
 */
async function readChanges(db: Kysely<Database>, after: number, limit: number): Promise<ChangeRecord[]> {
  const rows = await db
    .selectFrom('changes')
    .select(['revision', 'type', 'object', 'prev_labels'])
    .where('revision', '>', after)
    .where('revision', '>', (eb) => eb.selectFrom('meta').select('value').where('key', '=', 'compacted'))
    .orderBy('revision')
    .limit(limit)
    .execute();
  return rows.map(toChangeRecord);
}

function toChangeRecord(row: Pick<ChangesTable, 'revision' | 'type' | 'object' | 'prev_labels'>): ChangeRecord {
  return {
    revision: Number(row.revision),
    type: row.type,
    object: handOut(JSON.parse(row.object) as StoredObject),
    prevLabels: row.prev_labels === null ? undefined : (JSON.parse(row.prev_labels) as Record<string, string>),
  };
}
