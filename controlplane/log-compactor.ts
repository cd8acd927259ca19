// Keeps the store's change log bounded, as the Kubernetes API server does for etcd: every
// interval it forgets the changes older than the revision it noted one interval ago, so a watcher
// may fall up to one interval behind before it has to list again (410 Gone). A round that fails
// is retried by the loop with back-off; it compacts to the older revision it noted, never further.
import type { PeriodicController, ReconcileResult } from '../reconciler/controller.ts';
import type { ObjectStore } from '../store/types.ts';

export class LogCompactor implements PeriodicController {
  readonly name = 'log-compaction';
  private noted = 0;
  private readonly again: ReconcileResult;

  constructor(
    private readonly store: ObjectStore,
    readonly intervalMs: number,
  ) {
    this.again = { requeueAfterMs: intervalMs };
  }

  /** One round: compact to the revision noted last time, note the current one. */
  async reconcile(): Promise<ReconcileResult> {
    const current = await this.store.currentRevision();
    // Never backwards, and never past what another replica compacted already.
    if (this.noted > (await this.store.compactedRevision())) await this.store.compact(this.noted);
    this.noted = current;
    return this.again;
  }
}
