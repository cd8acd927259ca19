// Per-user limits on what holds a connection open (watches, log streams): a tenant cannot take
// the server's memory or sockets by opening them without end. Counted in this process.
import { ApiError } from './errors.ts';

export class ConcurrentPerUser {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly limit: number,
    /** Plural, for the message: "watches". */
    private readonly what: string,
  ) {}

  /** Throws 429 naming the limit when the user is at it. */
  check(user: string): void {
    if ((this.open.get(user) ?? 0) >= this.limit) {
      throw new ApiError('TooManyRequests', `at most ${this.limit} open ${this.what} per user; close one first`);
    }
  }

  /** Counts one more for the user (after check); the returned function releases it, once. */
  acquire(user: string): () => void {
    this.check(user);
    this.open.set(user, (this.open.get(user) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(user) ?? 1) - 1;
      if (left > 0) this.open.set(user, left);
      else this.open.delete(user);
    };
  }
}
