// Per-user limits on what a tenant stores: objects per namespace, replicas per workload and in
// all. Counted from the store's change feed (a key → replicas map, no bodies kept), and every
// write that would add is admitted here first: the check and the reservation are one synchronous
// step, so concurrent applies of one user cannot pass a limit together (within this process).
// Like Kubernetes' ResourceQuota, only what adds is refused: a tenant over a lowered limit may
// still shrink. Admins are not limited.
import type { ServedWorkload } from '../schemas/types.gen.ts';
import type { ObjectStore, StoredObject } from '../store/types.ts';
import type { Principal } from './auth/principal.ts';
import type { UserLimits } from './config.ts';
import { ApiError } from './errors.ts';

export type UsageLimits = Pick<UserLimits, 'objectsPerNamespace' | 'replicasPerWorkload' | 'replicasPerUser'>;

/** The kinds tenants write, which count as a namespace's objects (Instances and Events are the server's). */
const COUNTED_KINDS = ['Workload', 'Secret'] as const;

interface Entry {
  namespace: string;
  replicas: number;
  revision: number;
}

interface Totals {
  objects: number;
  replicas: number;
}

/** A write about to happen: the object as stored now (absent when it is created) and as it will be. */
export interface UsageChange {
  live: StoredObject | undefined;
  next: StoredObject;
}

/** Held from admission until the write commits (then its objects are counted) or fails. */
export interface UsageReservation {
  committed(written: readonly StoredObject[]): void;
  released(): void;
}

const NO_RESERVATION: UsageReservation = { committed: () => {}, released: () => {} };

function replicasOf(object: StoredObject | undefined): number {
  if (object?.kind !== 'Workload') return 0;
  return (object as ServedWorkload).spec.replicas;
}

export class NamespaceUsage {
  private readonly entries = new Map<string, Entry>();
  private readonly totals = new Map<string, Totals>();
  private readonly pending = new Set<Map<string, Totals>>();
  /** Per kind: the revision its feed has reached. A write recorded at or below it is already in. */
  private readonly seen = new Map<string, number>();
  private readonly watches = new Map<string, { close(): void }>();
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    readonly limits: UsageLimits,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Resolves once every counted kind is listed; the feeds then run until stop(). */
  async start(): Promise<void> {
    await Promise.all(COUNTED_KINDS.map((kind) => this.relist(kind)));
    for (const kind of COUNTED_KINDS) void this.follow(kind);
  }

  stop(): void {
    this.stopped = true;
    for (const watch of this.watches.values()) watch.close();
  }

  /** What a namespace holds now, writes admitted but not yet committed included. */
  usage(namespace: string): Totals {
    const total = { ...(this.totals.get(namespace) ?? { objects: 0, replicas: 0 }) };
    for (const reservation of this.pending) {
      const delta = reservation.get(namespace);
      if (delta) {
        total.objects += delta.objects;
        total.replicas += delta.replicas;
      }
    }
    return total;
  }

  /** Throws 429 naming the limit when the changes would take the user past one; else holds them. */
  admit(principal: Principal, changes: readonly UsageChange[]): UsageReservation {
    if (principal.role === 'admin') return NO_RESERVATION;
    const deltas = new Map<string, Totals>();
    for (const { live, next } of changes) {
      const namespace = next.metadata.namespace;
      if (!namespace || !(COUNTED_KINDS as readonly string[]).includes(next.kind)) continue;
      const replicas = replicasOf(next);
      if (replicas > this.limits.replicasPerWorkload && replicas > replicasOf(live)) {
        throw limitError(`Workload ${namespace}/${next.metadata.name}: spec.replicas ${replicas} is more than the ${this.limits.replicasPerWorkload} replicas a workload may have (LATTICE_REPLICAS_PER_WORKLOAD)`);
      }
      const delta = deltas.get(namespace) ?? { objects: 0, replicas: 0 };
      delta.objects += live ? 0 : 1;
      delta.replicas += replicas - replicasOf(live);
      deltas.set(namespace, delta);
    }
    for (const [namespace, delta] of deltas) {
      const now = this.usage(namespace);
      if (delta.objects > 0 && now.objects + delta.objects > this.limits.objectsPerNamespace) {
        throw limitError(`namespace ${namespace} holds ${now.objects} objects (workloads and secrets) and may hold at most ${this.limits.objectsPerNamespace} (LATTICE_OBJECTS_PER_NAMESPACE); this apply adds ${delta.objects}`);
      }
    }
    const added = [...deltas.values()].reduce((sum, d) => sum + d.replicas, 0);
    if (added > 0) {
      const before = principal.namespaces.reduce((sum, namespace) => sum + this.usage(namespace).replicas, 0);
      if (before + added > this.limits.replicasPerUser) {
        throw limitError(`${principal.username} has ${before} replicas across its namespaces and may have at most ${this.limits.replicasPerUser} (LATTICE_REPLICAS_PER_USER); this change adds ${added}`);
      }
    }
    if (deltas.size === 0) return NO_RESERVATION;
    this.pending.add(deltas);
    return {
      committed: (written) => {
        for (const object of written) this.record(object, Number(object.metadata.resourceVersion), false);
        this.pending.delete(deltas);
      },
      released: () => this.pending.delete(deltas),
    };
  }

  /** Counts an object at its revision, unless its kind's feed already has it (or a later write). */
  private record(object: StoredObject, revision: number, deleted: boolean): void {
    if (!(COUNTED_KINDS as readonly string[]).includes(object.kind) || !object.metadata.namespace) return;
    if (revision <= (this.seen.get(object.kind) ?? 0)) return;
    const id = `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`;
    const previous = this.entries.get(id);
    if (previous && previous.revision >= revision) return;
    this.set(id, deleted ? undefined : { namespace: object.metadata.namespace, replicas: replicasOf(object), revision });
  }

  private set(id: string, entry: Entry | undefined): void {
    const previous = this.entries.get(id);
    if (previous) this.add(previous.namespace, -1, -previous.replicas);
    if (entry) {
      this.entries.set(id, entry);
      this.add(entry.namespace, 1, entry.replicas);
    } else this.entries.delete(id);
  }

  private add(namespace: string, objects: number, replicas: number): void {
    const total = this.totals.get(namespace) ?? { objects: 0, replicas: 0 };
    total.objects += objects;
    total.replicas += replicas;
    if (total.objects === 0) this.totals.delete(namespace);
    else this.totals.set(namespace, total);
  }

  private async relist(kind: string): Promise<void> {
    const { items, revision } = await this.store.list({ kind });
    const fresh = new Set<string>();
    for (const object of items) {
      const id = `${kind}/${object.metadata.namespace}/${object.metadata.name}`;
      fresh.add(id);
      this.set(id, { namespace: object.metadata.namespace!, replicas: replicasOf(object), revision: Number(object.metadata.resourceVersion) });
    }
    for (const id of [...this.entries.keys()]) if (id.startsWith(`${kind}/`) && !fresh.has(id)) this.set(id, undefined);
    this.seen.set(kind, revision);
  }

  private async follow(kind: string): Promise<void> {
    while (!this.stopped) {
      try {
        const watch = this.store.watch({ kind, fromRevision: this.seen.get(kind)!, bookmarkIntervalMs: 30_000 });
        this.watches.set(kind, watch);
        if (this.stopped) watch.close();
        for await (const event of watch) {
          if (event.type !== 'BOOKMARK') this.record(event.object, event.revision, event.type === 'DELETED');
          this.seen.set(kind, event.revision);
        }
      } catch (error) {
        if ((error as { code?: string }).code !== 'Gone') this.onError(error);
        if (this.stopped) return;
        await this.relist(kind).catch(async (relistError: unknown) => {
          this.onError(relistError);
          await new Promise((resolve) => setTimeout(resolve, 200));
        });
      }
    }
  }
}

function limitError(message: string): ApiError {
  return new ApiError('TooManyRequests', message);
}
