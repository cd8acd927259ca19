// Crash-loop back-off, as Kubernetes does it for restarting containers: the delay before a restart
// starts at initialMs and doubles with each consecutive crash up to maxMs; a run that lasted at
// least resetAfterMs counts as a success and brings the delay back to initialMs.
import { Backoff } from '../../schemas/backoff.ts';

export interface BackoffOptions {
  /** The first restart delay. Default 10 s. */
  initialMs?: number;
  /** The longest restart delay. Default 5 min. */
  maxMs?: number;
  /** A run at least this long resets the delay to initialMs. Default 10 s. */
  resetAfterMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 10_000 } as const;

/** The back-off state of one instance. */
export class CrashLoopBackoff {
  private readonly backoff: Backoff;
  private readonly resetAfterMs: number;

  constructor(options: BackoffOptions = {}) {
    this.backoff = new Backoff({ initialMs: options.initialMs ?? DEFAULT_BACKOFF.initialMs, maxMs: options.maxMs ?? DEFAULT_BACKOFF.maxMs });
    this.resetAfterMs = options.resetAfterMs ?? DEFAULT_BACKOFF.resetAfterMs;
  }

  /** The delay before the next restart, given how long the run that just ended lasted. */
  next(ranForMs: number): number {
    if (ranForMs >= this.resetAfterMs) this.backoff.reset();
    return this.backoff.next();
  }

  reset(): void {
    this.backoff.reset();
  }
}
