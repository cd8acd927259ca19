// A write transaction of the object store and the statements it runs. Every write takes the next
// global revision, writes the object, and leaves its change log row for the batch to insert (see
// group-commit.ts); the change feed publishes the batch once it is durable.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Transaction } from 'kysely';
import type { ChangesTable, Database, SpecRevisionsTable } from './db-schema.ts';
import type { DialectAdapter } from './dialects/adapter.ts';
import type { ChangeRecord } from './change-feed.ts';
import { frozenInTests } from './frozen.ts';
import { AlreadyExistsError, ConflictError, FencedError, InvalidError, NotFoundError } from './errors.ts';
import type { Batch, Fence } from './group-commit.ts';
import { PreparedInsert, PreparedQuery, type Execute } from './prepared-query.ts';
import { buildMeta, describeKey, keyOf, sameUserMeta, serverMeta, storedObject, userMeta } from './object-meta.ts';
import type { DeleteResult, ObjectKey, Precondition, StatusUpdate, StoreTransaction, StoredObject } from './types.ts';

/** The statements every write runs, prepared once per store (see prepared-query.ts). */
export function hotStatements() {
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

export type HotStatements = ReturnType<typeof hotStatements>;

/** One transaction's changes: the log rows to insert and, once committed, the records to publish. */
export interface WrittenChanges {
  rows: ChangesTable[];
  records: ChangeRecord[];
}

/** What every write transaction of one store shares. */
export interface WriteContext {
  adapter: DialectAdapter;
  statements: HotStatements;
  now: () => Date;
  historyKinds: ReadonlySet<string>;
  historyLimit: number;
}

/**
 * One database transaction's writes: the revision counter they share and the objects written so
 * far. A transaction that fails rolls back to its savepoint alone; its revisions are reused by the
 * next, so the log stays gapless.
 */
export class WriteBatch implements Batch<SqlTransaction, WrittenChanges> {
  private readonly written = new Map<number, StoredObject>();
  private before: number | undefined;
  /** The stored leader epoch, read by the batch's first fenced unit (the revision lock keeps it). */
  private leaderEpoch: number | undefined;

  private constructor(
    private readonly trx: Transaction<Database>,
    private readonly context: WriteContext,
    private readonly counter: RevisionCounter,
    private readonly execute: Execute,
  ) {}

  static async open(context: WriteContext, trx: Transaction<Database>, execute: Execute): Promise<WriteBatch> {
    const counter = new RevisionCounter(trx, context, execute);
    // Taken before any savepoint: on PostgreSQL a row lock taken inside one would be lost when it
    // rolls back.
    await counter.lock();
    return new WriteBatch(trx, context, counter, execute);
  }

  /**
   * Read after open() took the revision lock, which the epoch bump takes too (leader-epoch.ts): so
   * the epoch cannot move until this batch commits, and one read serves every fenced unit in it.
   * Where the adapter reads no epoch (SQLite: one process, no other leader) nothing is fenced and a
   * write costs no statement more.
   */
  async admit(fence: Fence): Promise<Error | undefined> {
    const { readLeaderEpoch } = this.context.adapter;
    if (!readLeaderEpoch) return undefined;
    this.leaderEpoch ??= await readLeaderEpoch(this.trx);
    const epoch = fence();
    return epoch < this.leaderEpoch ? new FencedError(epoch, this.leaderEpoch) : undefined;
  }

  begin(): SqlTransaction {
    this.before = this.counter.revision;
    return new SqlTransaction(this.trx, this.context, this.counter, this.execute, this.written);
  }

  end(tx: SqlTransaction): Promise<WrittenChanges> {
    return tx.flush();
  }

  abandon(): void {
    this.counter.revision = this.before;
  }

  async beforeCommit(done: readonly WrittenChanges[]): Promise<void> {
    // The change log rows of the whole batch in as few statements as the dialect allows:
    // inserted in each savepoint they cost a statement per transaction.
    await this.context.statements.insertChanges.run(this.trx, done.flatMap((changes) => changes.rows), this.context.adapter.maxRowsPerInsert, this.execute);
    await this.counter.save();
  }
}

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

export class SqlTransaction implements StoreTransaction {
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
    this.changes.records.push({ revision, type, object: frozenInTests(object), prevLabels });
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
export function keyArgs(key: ObjectKey): [string, string, string] {
  return [key.kind, key.namespace ?? '', key.name];
}
