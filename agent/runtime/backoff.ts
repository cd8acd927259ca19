// Crash-loop backoff, as Kubernetes does it for restarting containers: the delay before a restart
// starts at initialMs and doubles with each consecutive crash up to maxMs; a run that lasted at
// least resetAfterMs counts as a success and brings the delay back to initialMs.

export interface BackoffOptions {
  /** The first restart delay. Default 10 s. */
  initialMs?: number;
  /** The longest restart delay. Default 5 min. */
  maxMs?: number;
  /** A run at least this long resets the delay to initialMs. Default 10 s. */
  resetAfterMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 10_000 } as const;

/** The delay before restart number `attempt` (0-based) of an uninterrupted crash loop. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  // 2^attempt overflows to Infinity for large attempts, which min() then caps.
  return Math.min(initialMs * 2 ** Math.max(0, attempt), Math.max(initialMs, maxMs));
}

/** The backoff state of one instance. */
export class CrashLoopBackoff {
  private attempt = 0;
  private readonly options: Required<BackoffOptions>;

  constructor(options: BackoffOptions = {}) {
    this.options = {
      initialMs: options.initialMs ?? DEFAULT_BACKOFF.initialMs,
      maxMs: options.maxMs ?? DEFAULT_BACKOFF.maxMs,
      resetAfterMs: options.resetAfterMs ?? DEFAULT_BACKOFF.resetAfterMs,
    };
  }

  /** The delay before the next restart, given how long the run that just ended lasted. */
  next(ranForMs: number): number {
    if (ranForMs >= this.options.resetAfterMs) this.attempt = 0;
    const delay = backoffDelay(this.attempt, this.options);
    // Stop counting once capped: the delay no longer changes.
    if (delay < this.options.maxMs) this.attempt += 1;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
