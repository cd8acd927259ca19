// Keeps the store's change log bounded, as the Kubernetes API server does for etcd: every
// interval it forgets the changes older than the revision it noted one interval ago, so a watcher
// may fall up to one interval behind before it has to list again (410 Gone).
import type { ObjectStore } from '../store/types.ts';

export class LogCompactor {
  private timer: NodeJS.Timeout | undefined;
  private noted = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick().catch(this.onError), this.intervalMs).unref();
  }

  /** One round: compact to the revision noted last time, note the current one. */
  async tick(): Promise<void> {
    const current = await this.store.currentRevision();
    // Never backwards, and never past what another replica compacted already.
    if (this.noted > (await this.store.compactedRevision())) await this.store.compact(this.noted);
    this.noted = current;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
