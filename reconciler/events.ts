// Events: what happened to an object, for people (`describe`, the UI). Written by the API
// (deletion, pruning) and the controllers (scheduling, replacement, agents lost).
import { randomSuffix } from './name-suffix.ts';
import type { ObjectStore, StoreTransaction, StoredObject } from '../store/types.ts';
import type { PeriodicController, ReconcileResult } from './controller.ts';

export async function recordEvent(
  tx: Pick<StoreTransaction, 'create'>,
  involved: StoredObject,
  reason: string,
  message: string,
  now: Date,
  type: 'Normal' | 'Warning' = 'Normal',
): Promise<StoredObject | undefined> {
  const namespace = involved.metadata.namespace;
  if (!namespace) return undefined; // Events are namespaced; cluster objects' events go to the log only
  const timestamp = now.toISOString();
  return tx.create({
    apiVersion: 'lattice/v1',
    kind: 'Event',
    // A DNS label like every other name: the object's name (shortened) and a random suffix.
    metadata: { name: `${involved.metadata.name.slice(0, 50).replace(/-+$/, '')}-${randomSuffix(6)}`, namespace },
    spec: {
      involvedObject: { kind: involved.kind, namespace, name: involved.metadata.name, uid: involved.metadata.uid },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
    },
  });
}

/** Deletes Events older than maxAgeMs; returns how many. Events are short-lived by design. */
export async function pruneEvents(store: ObjectStore, now: Date, maxAgeMs: number): Promise<number> {
  const { items } = await store.list({ kind: 'Event' });
  let pruned = 0;
  for (const event of items) {
    const last = Date.parse((event.spec as { lastTimestamp?: string }).lastTimestamp ?? event.metadata.creationTimestamp ?? '');
    if (Number.isNaN(last) || now.getTime() - last < maxAgeMs) continue;
    await store.delete({ kind: 'Event', namespace: event.metadata.namespace, name: event.metadata.name }).catch(() => undefined);
    pruned += 1;
  }
  return pruned;
}

/** pruneEvents every intervalMs, for the one process that leads. */
export class EventPruner implements PeriodicController {
  readonly name = 'event-pruning';
  private readonly again: ReconcileResult;

  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => Date,
    private readonly maxAgeMs: number,
    readonly intervalMs: number,
  ) {
    this.again = { requeueAfterMs: intervalMs };
  }

  async reconcile(): Promise<ReconcileResult> {
    await pruneEvents(this.store, this.now(), this.maxAgeMs);
    return this.again;
  }
}
