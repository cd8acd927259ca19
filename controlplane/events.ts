// Events the API records for the transitions it causes (deletion, pruning).
import { randomBytes } from 'node:crypto';
import type { StoreTransaction, StoredObject } from '../store/types.ts';

export async function recordEvent(
  tx: StoreTransaction,
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
    metadata: { name: `${involved.metadata.name.slice(0, 50).replace(/-+$/, '')}-${randomBytes(6).toString('hex')}`, namespace },
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
