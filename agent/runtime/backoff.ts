// Crash-loop back-off, as Kubernetes does it for restarting containers: the delay before a restart
// starts at initialMs and doubles with each consecutive crash up to maxMs; a run that lasted at
// least resetAfterMs counts as a success and brings the delay back to initialMs.
import { backoffDelay } from '../../schemas/backoff.ts';

export interface BackoffOptions {
  /** The first restart delay. Default 10 s. */
  initialMs?: number;
  /** The longest restart delay. Default 5 min. */
  maxMs?: number;
  /** A run at least this long resets the delay to initialMs. Default 10 s. */
  resetAfterMs?: number;
}

export function crashLoopPolicy(options: BackoffOptions = {}): Required<BackoffOptions> {
  return { initialMs: options.initialMs ?? 10_000, maxMs: options.maxMs ?? 300_000, resetAfterMs: options.resetAfterMs ?? 10_000 };
}

/**
 * The delay before the next restart, given the consecutive crashes so far (attempt) and how long
 * the run that just ended lasted; and the attempt count after it. Pure, so that the supervisor's
 * transitions (run-transitions.ts) stay pure.
 */
export function crashLoopDelay(attempt: number, ranForMs: number, policy: Required<BackoffOptions>): { delayMs: number; attempt: number } {
  const from = ranForMs >= policy.resetAfterMs ? 0 : attempt;
  const delayMs = backoffDelay(from, policy);
  // Stop counting once capped: the delay no longer changes.
  return { delayMs, attempt: delayMs < policy.maxMs ? from + 1 : from };
}

/** The back-off state of one instance. */
export class CrashLoopBackoff {
  private attempt = 0;
  private readonly policy: Required<BackoffOptions>;

  constructor(options: BackoffOptions = {}) {
    this.policy = crashLoopPolicy(options);
  }

  /** The delay before the next restart, given how long the run that just ended lasted. */
  next(ranForMs: number): number {
    const { delayMs, attempt } = crashLoopDelay(this.attempt, ranForMs, this.policy);
    this.attempt = attempt;
    return delayMs;
  }

  reset(): void {
    this.attempt = 0;
  }
}
