// Workload → Instances: the edge around planWorkload and the scheduler, like Nomad's
// generic_sched around its reconciler. Each reconcile makes its writes in one transaction.
import { randomSuffix } from './name-suffix.ts';
import { isDeepStrictEqual } from 'node:util';
import type { Instance, Secret, ServedWorkload } from '../schemas/types.gen.ts';
import type { ObjectStore, StoreTransaction, StoredObject } from '../store/types.ts';
import type { ClusterCapacity } from './cluster-capacity.ts';
import type { Controller, ReconcileResult } from './controller.ts';
import { INSTANCE_FINALIZER, WORKLOAD_FINALIZER, WORKLOAD_LABEL } from '../schemas/labels-and-finalizers.ts';
import { availableAt, isDeleting, isScheduled } from './instance-state.ts';
import type { ObjectCache } from './object-cache.ts';
import { planWorkload } from './plan-workload.ts';
import { scheduleReplicas, type Placement } from './scheduler.ts';
import { templateHash } from './template-hash.ts';
import { referencedSecrets, secretVersions } from './secret-refs.ts';
import { workloadStatus } from './workload-status.ts';
import { recordEvent } from './events.ts';

export interface WorkloadControllerDeps {
  store: ObjectStore;
  workloads: ObjectCache<ServedWorkload>;
  instances: ObjectCache<Instance>;
  capacity: ClusterCapacity;
  secrets: ObjectCache<Secret>;
  now: () => Date;
}

export const workloadKey = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * One reconcile's writes, made in one transaction. Reads come from the caches; the caches (and
 * so the next reconcile) see the writes through the watch.
 */
interface Writes {
  tx: StoreTransaction;
  /** The last revision written per cached kind: the next run of this key waits until each cache has it. */
  revisions: { instance: number; workload: number };
  instancesChanged: boolean;
}

/** Agents scored per placement on a large fleet: enough for a good fit, few enough for 1,000s of agents. */
export function scoreLimit(agents: number): number {
  return Math.max(16, 2 * Math.ceil(Math.log2(Math.max(2, agents))));
}

export class WorkloadController implements Controller {
  readonly name = 'workload';
  /** Where the next placement starts looking (see ScheduleOptions). */
  private cursor = 0;
  /** Workload key → its template hash at a generation (a spec never changes within one). */
  private readonly hashes = new Map<string, { uid: string; generation: number; secrets: string; hash: string }>();

  constructor(private readonly deps: WorkloadControllerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const { workloads, instances } = this.deps;
    const workload = workloads.get(namespace, name);
    const owned = instances.byIndex('workload', key);
    const now = this.deps.now();
    const written = await this.reconcileOnce(key, workload, owned, now);
    // The next run of this key must plan from these writes, not from the state before them
    // (which would create the same instances twice).
    if (written) await Promise.all([instances.caughtUp(written.instance), workloads.caughtUp(written.workload)]);
    if (workload && !workload.metadata.deletionTimestamp) return whenNextAvailable(workload, owned, now.getTime());
  }

  private async reconcileOnce(key: string, workload: ServedWorkload | undefined, instances: Instance[], now: Date): Promise<Writes['revisions'] | undefined> {
    if (!workload || workload.metadata.deletionTimestamp) {
      // Gone (it had no finalizer yet, or it was forced) or being deleted: stop every instance;
      // the finalizer goes once none is left.
      const doomed = instances.filter((i) => !isDeleting(i));
      const release = workload && instances.length === 0 && workload.metadata.finalizers?.includes(WORKLOAD_FINALIZER);
      if (!workload) this.hashes.delete(key);
      if (doomed.length === 0 && !release) return undefined;
      return this.write(async (writes) => {
        for (const instance of doomed) await this.deleteInstance(writes, instance);
        if (release) await this.updateWorkload(writes, { ...workload, metadata: { ...workload.metadata, finalizers: workload.metadata.finalizers!.filter((f) => f !== WORKLOAD_FINALIZER) } });
      });
    }
    const hash = this.hashOf(workload, await this.referencedSecretVersions(workload));
    const plan = planWorkload(workload, instances, hash);
    const waiting = instances.filter((i) => !isDeleting(i) && !isScheduled(i) && i.status?.state !== 'Lost');
    const { binds, creates } = this.schedule(workload, hash, plan.place, waiting);
    const needsFinalizer = !workload.metadata.finalizers?.includes(WORKLOAD_FINALIZER);
    const status = workloadStatus(workload, instances, hash, now.toISOString());
    const statusChanged = !isDeepStrictEqual(withoutTimes(workload.status), withoutTimes(status));
    if (!needsFinalizer && plan.stop.length === 0 && binds.length === 0 && creates.length === 0 && !statusChanged) return undefined;
    const assumed = [...binds.flatMap((b) => ('agent' in b.placement ? [{ ...b.instance, spec: { ...b.instance.spec, agent: b.placement.agent } }] : [])), ...creates.filter(isScheduled)];
    for (const instance of assumed) this.deps.capacity.assume(instance);
    try {
      return await this.write(async (writes) => {
        const { tx } = writes;
        if (needsFinalizer) await this.updateWorkload(writes, { ...workload, metadata: { ...workload.metadata, finalizers: [...(workload.metadata.finalizers ?? []), WORKLOAD_FINALIZER] } });
        for (const { instance, reason } of plan.stop) {
          await this.deleteInstance(writes, instance);
          await this.event(writes, workload, reason, `stopping instance ${instance.metadata.name}${instance.spec.agent ? ` on ${instance.spec.agent}` : ''}`, reason === 'Lost' ? 'Warning' : 'Normal');
        }
        for (const { instance, placement } of binds) {
          if ('agent' in placement) {
            this.instanceWrite(writes, await tx.update({ ...instance, spec: { ...instance.spec, agent: placement.agent } }));
            await this.event(writes, workload, 'Scheduled', `instance ${instance.metadata.name} scheduled to ${placement.agent}`);
          } else if (instance.status?.message !== placement.reason) {
            const ref = { kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name };
            this.instanceWrite(writes, await tx.updateStatus(ref, { ...instance.status, state: 'Pending', message: placement.reason }, { basis: instance }));
            await this.event(writes, workload, 'FailedScheduling', `instance ${instance.metadata.name}: ${placement.reason}`, 'Warning');
          }
        }
        for (const instance of creates) {
          this.instanceWrite(writes, await tx.create(instance));
          const agent = instance.spec.agent;
          if (agent) await this.event(writes, workload, 'Scheduled', `instance ${instance.metadata.name} scheduled to ${agent}`);
          else await this.event(writes, workload, 'FailedScheduling', `instance ${instance.metadata.name}: ${instance.status!.message}`, 'Warning');
        }
        // Status follows the instances the cache holds: after changing them, the next run
        // (woken by their watch events) writes it from what they became.
        if (statusChanged && !writes.instancesChanged) {
          const written = await tx.updateStatus({ kind: 'Workload', namespace: workload.metadata.namespace, name: workload.metadata.name }, status, { basis: workload });
          writes.revisions.workload = Number(written.metadata.resourceVersion);
          // Becoming Degraded is news (a crash, a failed image pull): once per episode, not per restart.
          if (status.phase === 'Degraded' && workload.status?.phase !== 'Degraded') {
            const failing = status.conditions?.find((c) => c.type === 'Progressing')?.message ?? 'an instance is failing';
            await this.event(writes, workload, 'InstanceFailing', failing, 'Warning');
          }
        }
      });
    } catch (error) {
      for (const instance of assumed) this.deps.capacity.forget(instance);
      throw error;
    }
  }

  /**
   * Versions of the Secrets the workload's env uses. One the cache does not hold yet is read from
   * the store: applied in the same transaction as the workload, it may not have reached the cache.
   */
  private async referencedSecretVersions(workload: ServedWorkload): Promise<Record<string, string>> {
    const namespace = workload.metadata.namespace!;
    const found = new Map<string, Secret | undefined>();
    for (const name of referencedSecrets(workload.spec)) {
      const cached = this.deps.secrets.get(namespace, name);
      found.set(name, cached ?? ((await this.deps.store.get({ kind: 'Secret', namespace, name }).catch(() => undefined)) as Secret | undefined));
    }
    return secretVersions(workload.spec, (name) => found.get(name));
  }

  private hashOf(workload: ServedWorkload, secrets: Record<string, string>): string {
    const key = workloadKey(workload.metadata.namespace!, workload.metadata.name);
    const { uid = '', generation = 0 } = workload.metadata;
    const secretsKey = JSON.stringify(secrets);
    const known = this.hashes.get(key);
    if (known && known.uid === uid && known.generation === generation && known.secrets === secretsKey) return known.hash;
    const hash = templateHash(workload.spec, secrets);
    this.hashes.set(key, { uid, generation, secrets: secretsKey, hash });
    return hash;
  }

  private async write(fn: (writes: Writes) => Promise<void>): Promise<Writes['revisions']> {
    return this.deps.store.transact(async (tx) => {
      const writes: Writes = { tx, revisions: { instance: 0, workload: 0 }, instancesChanged: false };
      await fn(writes);
      return writes.revisions;
    });
  }

  private instanceWrite(writes: Writes, object: StoredObject | undefined): void {
    writes.instancesChanged = true;
    if (object) writes.revisions.instance = Math.max(writes.revisions.instance, Number(object.metadata.resourceVersion));
  }

  private async updateWorkload(writes: Writes, workload: ServedWorkload): Promise<void> {
    const written = await writes.tx.update(workload);
    writes.revisions.workload = Math.max(writes.revisions.workload, Number(written.metadata.resourceVersion));
  }

  private async event(writes: Writes, workload: ServedWorkload, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    await recordEvent(writes.tx, workload, reason, message, this.deps.now(), type);
  }

  /**
   * Places `count` new instances and binds those still waiting. Pure but for the capacity it
   * reads: returns the writes to make; the caller assumes the placements before any await.
   */
  private schedule(workload: ServedWorkload, hash: string, count: number, waiting: Instance[]): { binds: { instance: Instance; placement: Placement }[]; creates: Instance[] } {
    if (count === 0 && waiting.length === 0) return { binds: [], creates: [] };
    const { capacity } = this.deps;
    const namespace = workload.metadata.namespace!;
    const quota = capacity.sharedQuotaOf(namespace);
    const request = {
      tenant: namespace,
      template: workload.spec,
      sharedDefaults: capacity.sharedDefaults,
      ...(quota ? { sharedQuota: quota } : {}),
      replicasOn: capacity.replicasOn(workloadKey(namespace, workload.metadata.name)),
    };
    const agents = capacity.agents();
    const limit = scoreLimit(agents.length);
    const placements = scheduleReplicas(request, agents, count + waiting.length, { scoreLimit: limit, startAt: this.cursor });
    this.cursor = (this.cursor + limit) % Math.max(1, agents.length);
    const binds = waiting.map((instance, i) => ({ instance, placement: placements[i]! }));
    const creates = placements.slice(waiting.length).map((placement): Instance => ({
      apiVersion: 'lattice/v1',
      kind: 'Instance',
      metadata: {
        name: `${workload.metadata.name.slice(0, 44)}-${hash.slice(0, 5)}-${randomSuffix(3)}`,
        namespace,
        // The workload's labels as they are at creation (`get instances -l app=web`), and whose it is.
        labels: { ...workload.metadata.labels, [WORKLOAD_LABEL]: workload.metadata.name },
        finalizers: [INSTANCE_FINALIZER],
      },
      spec: { workload: workload.metadata.name, ...('agent' in placement ? { agent: placement.agent } : {}), template: workload.spec, templateHash: hash },
      status: { state: 'Pending', restarts: 0, message: 'agent' in placement ? `scheduled to ${placement.agent}` : placement.reason },
    }));
    return { binds, creates };
  }

  /** Never scheduled, or on an agent that is lost: nothing runs that needs stopping first. */
  private async deleteInstance(writes: Writes, instance: Instance): Promise<void> {
    const { tx } = writes;
    const key = { kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name };
    const nothingToStop = !isScheduled(instance) || instance.status?.state === 'Lost';
    if (nothingToStop && instance.metadata.finalizers?.length) {
      this.instanceWrite(writes, await tx.update({ ...instance, metadata: { ...instance.metadata, finalizers: [] } }));
      // Without finalizers the update above removed it already.
      if (isDeleting(instance)) return;
    }
    const existing = await tx.find(key);
    if (!existing) return;
    this.instanceWrite(writes, (await tx.delete(key)).object);
  }
}

/** Nothing else changes when a running instance has been up for minReadySeconds: look again then. */
function whenNextAvailable(workload: ServedWorkload, instances: readonly Instance[], nowMs: number): ReconcileResult | undefined {
  let next = Infinity;
  for (const instance of instances) {
    const at = availableAt(instance, workload.spec);
    if (at !== undefined && at > nowMs && !isDeleting(instance)) next = Math.min(next, at);
  }
  return next === Infinity ? undefined : { requeueAfterMs: next - nowMs + 1 };
}

function withoutTimes(status: ServedWorkload['status']): unknown {
  return status && { ...status, conditions: status.conditions?.map(({ lastTransitionTime: _, ...c }) => c) };
}
