// Domain errors of the store. Driver errors (SQLite constraint codes, PostgreSQL SQLSTATEs) are
// mapped to these at the boundary, so no caller ever sees a driver message.
import type { FieldError } from '../schemas/validate.ts';
import type { DialectAdapter } from './dialects/adapter.ts';

export type StoreErrorCode = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Invalid' | 'Fenced';

export abstract class StoreError extends Error {
  abstract readonly code: StoreErrorCode;
}

export class NotFoundError extends StoreError {
  readonly code = 'NotFound';
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends StoreError {
  readonly code = 'AlreadyExists';
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

/** A precondition failed: the object (or the store) moved since the caller read it. */
export class ConflictError extends StoreError {
  readonly code = 'Conflict';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The requested revision was compacted away: re-list and watch from the list's revision. */
export class GoneError extends StoreError {
  readonly code = 'Gone';
  constructor(
    readonly requestedRevision: number,
    readonly compactedRevision: number,
  ) {
    super(`revision ${requestedRevision} has been compacted (oldest retained is ${compactedRevision}); list again and watch from the list's resourceVersion`);
    this.name = 'GoneError';
  }
}

/**
 * A leader's write (ObjectStore.fenced) refused because a newer leader exists: the writer must
 * stop acting as the leader. Nothing of the write happened. epoch 0: the writer had already
 * stepped down when it tried.
 */
export class FencedError extends StoreError {
  readonly code = 'Fenced';
  constructor(
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(
      epoch > 0
        ? `this replica's leadership (epoch ${epoch}) was superseded by epoch ${currentEpoch}; write refused`
        : `this replica no longer leads (the leader's epoch is ${currentEpoch}); write refused`,
    );
    this.name = 'FencedError';
  }
}

export class InvalidError extends StoreError {
  readonly code = 'Invalid';
  constructor(readonly details: FieldError[]) {
    super(details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; '));
    this.name = 'InvalidError';
  }
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}

/** Driver errors become domain errors; the caller's own errors pass through untouched. */
export function mapDriverError(adapter: DialectAdapter, error: unknown): unknown {
  if (isStoreError(error) || !adapter.isDriverError(error)) return error;
  if (adapter.isUniqueViolation(error)) return new AlreadyExistsError('object');
  if (adapter.isContention(error)) return new ConflictError('another write got there first; retry');
  return new Error(`${adapter.backend} store operation failed`, { cause: error });
}
