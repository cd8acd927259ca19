// The one shape every controller takes, like controller-runtime's Reconciler: look at one key,
// act, and say when to look again if nothing else brings the key back. The work queue applies the
// answer (work-queue.ts), so no controller keeps timers or calls back into a queue of its own.

export interface ReconcileResult {
  /** Look at the key again after this long, even if nothing it watches changes (time alone does something). */
  requeueAfterMs?: number;
}

export interface Controller {
  /** Names the controller in errors ("<name> <key> failed"). */
  readonly name: string;
  /** Throws to be retried with the queue's per-key back-off. */
  reconcile(key: string): Promise<ReconcileResult | void>;
}

/** A controller of one thing that time alone changes (the change log, old events): one key, looked at every interval. */
export interface PeriodicController extends Controller {
  /** The first run comes one interval after start; each run asks for the next one interval later. */
  readonly intervalMs: number;
}
