// Small builders for the reconciler's pure functions, in the spirit of Nomad's reconcile_*_test.go:
// every field has a boring default, and a row names only what matters to it.
import type { Condition, Endpoint, Instance, InstanceStatus, ObservedInstance, ServedWorkload, WorkloadStatus } from '../../schemas/types.gen.ts';

/** The template hash the workload wants now, and the one before it. */
export const NEW = 'v2';
export const OLD = 'v1';

/** Minutes after a fixed epoch, as an ISO timestamp: created(3) is newer than created(2). */
export function at(minutes: number): string {
  return new Date(Date.UTC(2024, 0, 1, 0, minutes)).toISOString();
}

export interface WorkloadOptions {
  /** Omitted: 1, the default the server fills in. */
  replicas?: number;
  generation?: number;
  deleting?: boolean;
  conditions?: Condition[];
  minReadySeconds?: number;
  /** An HTTP health check on port http. */
  healthCheck?: boolean;
}

/** A Workload as the reconciler reads it from the store: validated, its defaults filled in. */
export function workload(options: WorkloadOptions = {}): ServedWorkload {
  const status: WorkloadStatus | undefined = options.conditions ? { conditions: options.conditions } : undefined;
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      uid: 'workload-uid',
      generation: options.generation ?? 1,
      creationTimestamp: at(0),
      ...(options.deleting ? { deletionTimestamp: at(100) } : {}),
    },
    spec: {
      image: 'nginx:1',
      replicas: options.replicas ?? 1,
      restartPolicy: 'Always',
      ...(options.minReadySeconds !== undefined ? { minReadySeconds: options.minReadySeconds } : {}),
      ...(options.healthCheck ? { healthCheck: { http: { port: 'http', path: '/' }, intervalSeconds: 10, failureThreshold: 3 } } : {}),
    },
    ...(status ? { status } : {}),
  };
}

export interface InstanceOptions {
  name: string;
  /** Defaults to the name, so agent plans read as names. */
  uid?: string;
  hash?: string;
  /** Running by default; null leaves the instance without a status. */
  state?: InstanceStatus['state'] | null;
  health?: InstanceStatus['health'];
  /** null: not scheduled yet. */
  agent?: string | null;
  deleting?: boolean;
  /** Minutes after the epoch (see at()). */
  created?: number;
  message?: string;
  endpoints?: Endpoint[];
  /** When its current run started (ISO); absent: not reported. */
  startedAt?: string;
}

export function instance(options: InstanceOptions): Instance {
  const { name, hash = NEW, state = 'Running', agent = 'agent-1', created = 1 } = options;
  const status: InstanceStatus | undefined =
    state === null
      ? undefined
      : {
          state,
          restarts: 0,
          ...(options.health ? { health: options.health } : {}),
          ...(options.message !== undefined ? { message: options.message } : {}),
          ...(options.startedAt !== undefined ? { startedAt: options.startedAt } : {}),
          ...(options.endpoints ? { endpoints: options.endpoints } : {}),
        };
  return {
    apiVersion: 'lattice/v1',
    kind: 'Instance',
    metadata: {
      name,
      namespace: 'team-a',
      uid: options.uid ?? name,
      creationTimestamp: at(created),
      ...(options.deleting ? { deletionTimestamp: at(99) } : {}),
    },
    spec: { workload: 'web', ...(agent !== null ? { agent } : {}), template: { image: `nginx:${hash}` }, templateHash: hash },
    ...(status ? { status } : {}),
  };
}

export function observed(options: { uid: string; hash?: string; state?: ObservedInstance['state']; health?: ObservedInstance['health'] }): ObservedInstance {
  return { uid: options.uid, templateHash: options.hash ?? NEW, state: options.state ?? 'Running', restarts: 0, health: options.health ?? 'Unknown', endpoints: [] };
}

/** Lets every settled promise run its continuations. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise released from outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export { ManualClock } from '../support/manual-clock.ts';
