// Builders for objects used across tests.
import type { StoredObject, WatchEvent } from '../../store/types.ts';
import type { ObjectWatch } from '../../store/types.ts';

export function workload(name: string, options: { namespace?: string; labels?: Record<string, string>; image?: string; replicas?: number } = {}): StoredObject {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name, namespace: options.namespace ?? 'team-a', ...(options.labels ? { labels: options.labels } : {}) },
    spec: { image: options.image ?? 'nginx:1', replicas: options.replicas ?? 1 },
  };
}

export function agent(name: string, labels?: Record<string, string>): StoredObject {
  return { apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name, ...(labels ? { labels } : {}) }, spec: {} };
}

/** Reads events until `done` says so; fails after timeoutMs instead of hanging the suite. */
export async function collectEvents(watch: ObjectWatch, done: (events: WatchEvent[]) => boolean, timeoutMs = 10_000): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const timer = setTimeout(() => watch.close(), timeoutMs);
  try {
    for await (const event of watch) {
      events.push(event);
      if (done(events)) return events;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`watch ended after ${events.length} events without reaching the expected state (timeout ${timeoutMs} ms)`);
}

export const withoutBookmarks = (events: WatchEvent[]) => events.filter((e) => e.type !== 'BOOKMARK') as Extract<WatchEvent, { object: unknown }>[];
