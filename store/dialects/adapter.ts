// What differs between SQLite and PostgreSQL, and nothing else: everything above this
// interface is written once.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db-schema.ts';
import type { Execute } from '../prepared-query.ts';

/** What other processes sharing the database say. */
export interface OtherProcesses {
  commit(): void;
  revoked(revocation: string): void;
}

export interface DialectAdapter {
  readonly backend: 'sqlite' | 'postgres';
  /** Runs write transactions. */
  readonly writer: Kysely<Database>;
  /** Runs reads and watch catch-up, so they do not queue behind a write transaction. */
  readonly reader: Kysely<Database>;
  /**
   * Runs the statements of the write transaction the store holds open on the writer's one
   * connection, at once (SQLite: one connection, one transaction at a time). Absent where the
   * writer is a pool (PostgreSQL): statements go through the kysely transaction.
   */
  readonly executeOnWriter?: Execute;
  /** Most rows one multi-row INSERT may carry (bound-parameter limits). */
  readonly maxRowsPerInsert: number;
  /** Runs fn on one consistent snapshot (a list and its revision must agree). */
  snapshot<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /**
   * Inside a write transaction, before its first write: returns the current revision and holds
   * the revision counter until commit, so revisions commit in the order they were taken.
   */
  lockRevision(trx: Transaction<Database>): Promise<number>;
  /**
   * Inside a write transaction holding the revision lock: the stored leader epoch, which fenced
   * writes are checked against (leader-epoch.ts). Absent where one process writes (SQLite): then
   * nothing is fenced.
   */
  readLeaderEpoch?(trx: Transaction<Database>): Promise<number>;
  /** Inside a write transaction: tell other processes, on commit, that revision exists. */
  announce(trx: Transaction<Database>, revision: number): Promise<void>;
  /**
   * After a write commits: resolves once it is durable. Writers await it before they acknowledge
   * a write or show it to watchers. (PostgreSQL: COMMIT already is; SQLite: see sqlite.ts.)
   */
  afterCommit(): Promise<void>;
  /**
   * Calls commit whenever another process may have committed, and revoked with what another
   * process revoked (revoke()); returns a stop function.
   */
  listen(from: OtherProcesses): Promise<() => Promise<void>>;
  /** Tells the other processes sharing the database that a credential was revoked (SQLite: there are none). */
  revoke(revocation: string): Promise<void>;
  /** An error raised by the database driver (as opposed to the caller's own code). */
  isDriverError(error: unknown): boolean;
  isUniqueViolation(error: unknown): boolean;
  /** Transient contention (SQLITE_BUSY, PostgreSQL serialization failure or deadlock). */
  isContention(error: unknown): boolean;
  close(): Promise<void>;
}
