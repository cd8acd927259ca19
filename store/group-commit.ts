// Group commit: units of work that arrive while one commit is under way wait, then run one after
// the other inside a single database transaction, each in its own savepoint, and share one commit
// (one fsync). A unit that fails rolls back to its savepoint alone. What the units write is the
// batch's business (see store-transaction.ts): this file knows no objects.
import { CompiledQuery, type Transaction } from 'kysely';
import type { Database } from './db-schema.ts';
import type { DialectAdapter } from './dialects/adapter.ts';
import type { Execute } from './prepared-query.ts';

/**
 * A unit's claim to write, checked inside the batch's transaction before the unit runs: the
 * writer's epoch (see ObjectStore.fenced), read when the unit's turn comes.
 */
export type Fence = () => number;

/** One database transaction's worth of units, seen from the group commit. */
export interface Batch<Unit, Done> {
  /**
   * Before a fenced unit's savepoint: the error that refuses it, or undefined to run it. A refused
   * unit fails alone, unrun, and takes nothing (no revision, no savepoint).
   */
  admit(fence: Fence): Promise<Error | undefined>;
  /** Inside a fresh savepoint: what the next caller's function works on. */
  begin(): Unit;
  /** The caller's function returned: finish the unit inside its savepoint. */
  end(unit: Unit): Promise<Done>;
  /** The unit failed and its savepoint rolled back: forget what it took. */
  abandon(): void;
  /** Before commit: write what the batch's units left to write together. */
  beforeCommit(done: readonly Done[]): Promise<void>;
}

export interface GroupCommitHooks<Unit, Done> {
  /** Opens a batch in the database transaction, before any savepoint. */
  open(trx: Transaction<Database>, execute: Execute): Promise<Batch<Unit, Done>>;
  /** The batch's commit is durable: show it, before its callers are answered. */
  committed(done: readonly Done[]): void;
  /** What a caller sees of an error thrown by its unit or by the commit. */
  mapError(error: unknown): unknown;
}

interface Pending<Unit> {
  fn: (unit: Unit) => Promise<unknown>;
  fence: Fence | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Units sharing one commit at most (bounds how long a commit holds the writer). */
const MAX_GROUP_COMMIT = 256;

// Run for every unit of a batch: compiled once.
const SAVEPOINT = CompiledQuery.raw('savepoint lattice_tx');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release savepoint lattice_tx');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to savepoint lattice_tx');

export class GroupCommit<Unit, Done> {
  private readonly pending: Pending<Unit>[] = [];
  private committing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly database: Pick<DialectAdapter, 'writer' | 'executeOnWriter' | 'afterCommit'>,
    private readonly hooks: GroupCommitHooks<Unit, Done>,
  ) {}

  /** Runs fn in the next batch, unless its fence refuses it; settles once the batch's commit is durable. */
  run<T>(fn: (unit: Unit) => Promise<T>, fence?: Fence): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, fence, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1 && !this.committing) setImmediate(() => void this.commitPending());
    });
  }

  /** Units already asked for still commit; later ones are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.length > 0 || this.committing) await this.commitPending();
  }

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
   * it and answer the callers (a no-op when the batch failed as a whole).
   */
  private async commitBatch(batch: Pending<Unit>[]): Promise<() => Promise<void>> {
    const { mapError } = this.hooks;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const done: Done[] = [];
    try {
      const trx = await this.database.writer.startTransaction().execute();
      try {
        const execute: Execute = this.database.executeOnWriter ?? (<R>(query: CompiledQuery) => trx.executeQuery<R>(query));
        const work = await this.hooks.open(trx, execute);
        for (const { fn, fence } of batch) {
          const refused = fence && (await work.admit(fence));
          if (refused) {
            outcomes.push({ ok: false, error: refused });
            continue;
          }
          await execute(SAVEPOINT);
          const unit = work.begin();
          try {
            const value = await fn(unit);
            const written = await work.end(unit);
            await execute(RELEASE_SAVEPOINT);
            done.push(written);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await execute(ROLLBACK_TO_SAVEPOINT);
            await execute(RELEASE_SAVEPOINT);
            work.abandon();
            outcomes.push({ ok: false, error: mapError(error) });
          }
        }
        await work.beforeCommit(done);
        await trx.commit().execute();
      } catch (error) {
        await trx.rollback().execute().catch(() => {});
        throw error;
      }
    } catch (error) {
      // The commit itself failed (or the database went away): nothing of the batch is written.
      const mapped = mapError(error);
      for (const { reject } of batch) reject(mapped);
      return async () => {};
    }
    return async () => {
      try {
        await this.database.afterCommit();
      } catch (error) {
        for (const { reject } of batch) reject(mapError(error));
        return;
      }
      this.hooks.committed(done);
      outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
    };
  }
}
