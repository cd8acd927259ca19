// Exponential back-off, the one shape every retry in Lattice takes: a first delay that doubles
// with each consecutive failure up to a ceiling, optionally jittered down so that many clients
// that failed together do not come back together. The agent's crash loop, its reconnects, the
// work queue, watch caches, PostgreSQL's LISTEN connection and the CLI's watch all use it.

export interface BackoffPolicy {
  /** The first delay. */
  initialMs: number;
  /** The longest delay (never below initialMs). */
  maxMs: number;
  /** A delay is taken uniformly from [delay × (1 − jitter), delay]; 0 (the default) is exact. */
  jitter?: number;
}

/** The delay before retry number `attempt` (0-based) of an uninterrupted run of failures, unjittered. */
export function backoffDelay(attempt: number, policy: Pick<BackoffPolicy, 'initialMs' | 'maxMs'>): number {
  // 2^attempt overflows to Infinity for large attempts, which min() then caps.
  return Math.min(policy.initialMs * 2 ** Math.max(0, attempt), Math.max(policy.initialMs, policy.maxMs));
}

/** The back-off state of one thing that retries: failures grow the delay, a success resets it. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next retry. */
  next(): number {
    const delay = backoffDelay(this.attempt, this.policy);
    // Stop counting once capped: the delay no longer changes (and 2^attempt never overflows).
    if (delay < this.policy.maxMs) this.attempt += 1;
    const jitter = this.policy.jitter ?? 0;
    return jitter > 0 ? delay * (1 - jitter * this.random()) : delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
