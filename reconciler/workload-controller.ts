// Workload → Instances: the edge around planWorkload. Reads come from the caches; every write
// goes to the store, and the caches (and so the next reconcile) see it through the watch.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Agent, Instance, Secret, Workload } from '../schemas/types.gen.ts';
import type { ObjectStore } from '../store/types.ts';
import { INSTANCE_FINALIZER, WORKLOAD_FINALIZER, WORKLOAD_LABEL, isDeleting, isScheduled } from './instance-state.ts';
import type { ObjectCache } from './object-cache.ts';
import { planWorkload } from './plan-workload.ts';
import { requestOf } from './quantity.ts';
import { scheduleReplicas, type SchedulingAgent } from './scheduler.ts';
import { templateHash } from './template-hash.ts';
import { referencedSecrets, secretVersions } from './secret-refs.ts';
import { workloadStatus } from './workload-status.ts';
import { recordEvent } from './events.ts';
import { parseCpu, parseMemory } from './quantity.ts';

export interface WorkloadControllerDeps {
  store: ObjectStore;
  workloads: ObjectCache<Workload>;
  instances: ObjectCache<Instance>;
  agents: ObjectCache<Agent>;
  secrets: ObjectCache<Secret>;
  now: () => Date;
}

export const workloadKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class WorkloadController {
  /** Revision of this run's last Instance write (see reconcile). */
  private lastWrite = 0;

  constructor(private readonly deps: WorkloadControllerDeps) {}

  private wrote(object: { metadata: { resourceVersion?: string } } | undefined): void {
    if (object) this.lastWrite = Math.max(this.lastWrite, Number(object.metadata.resourceVersion));
  }

  async reconcile(key: string): Promise<void> {
    // Runs of different keys interleave (the queue runs several at once); each waits for the
    // newest instance write any of them made, which is at least its own.
    try {
      await this.reconcileOnce(key);
    } finally {
      await this.deps.instances.caughtUp(this.lastWrite);
    }
  }

  private async reconcileOnce(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const { store, workloads, instances: instanceCache } = this.deps;
    const workload = workloads.get(namespace, name);
    const instances = instanceCache.byIndex('workload', key);
    if (!workload) {
      // The Workload is gone (it had no finalizer yet, or it was forced): clean up after it.
      for (const instance of instances) if (!isDeleting(instance)) await this.deleteInstance(instance);
      return;
    }
    if (workload.metadata.deletionTimestamp) {
      for (const instance of instances) if (!isDeleting(instance)) await this.deleteInstance(instance);
      if (instances.length === 0 && workload.metadata.finalizers?.includes(WORKLOAD_FINALIZER)) {
        await store.update({ ...workload, metadata: { ...workload.metadata, finalizers: workload.metadata.finalizers.filter((f) => f !== WORKLOAD_FINALIZER) } });
      }
      return;
    }
    if (!workload.metadata.finalizers?.includes(WORKLOAD_FINALIZER)) {
      await store.update({ ...workload, metadata: { ...workload.metadata, finalizers: [...(workload.metadata.finalizers ?? []), WORKLOAD_FINALIZER] } });
      return; // the update comes back through the watch and reconciles again
    }
    const hash = templateHash(workload.spec, await this.referencedSecretVersions(workload));
    const plan = planWorkload(workload, instances, hash);
    for (const { instance, reason } of plan.stop) {
      await this.deleteInstance(instance);
      await recordEvent(store, workload, reason, `stopping instance ${instance.metadata.name}${instance.spec.agent ? ` on ${instance.spec.agent}` : ''}`, this.deps.now(), reason === 'Lost' ? 'Warning' : 'Normal');
    }
    await this.placeAndSchedule(workload, hash, plan.place, instances.filter((i) => !isDeleting(i) && !isScheduled(i) && i.status?.state !== 'Lost'));
    const status = workloadStatus(workload, instanceCache.byIndex('workload', key), hash, this.deps.now().toISOString());
    if (!isDeepStrictEqual(withoutTimes(workload.status), withoutTimes(status))) {
      await store.updateStatus({ kind: 'Workload', namespace, name }, status);
    }
  }

  /**
   * Versions of the Secrets the workload's env uses. One the cache does not hold yet is read from
   * the store: applied in the same transaction as the workload, it may not have reached the cache.
   */
  private async referencedSecretVersions(workload: Workload): Promise<Record<string, string>> {
    const namespace = workload.metadata.namespace!;
    const found = new Map<string, Secret | undefined>();
    for (const name of referencedSecrets(workload.spec)) {
      const cached = this.deps.secrets.get(namespace, name);
      found.set(name, cached ?? ((await this.deps.store.get({ kind: 'Secret', namespace, name }).catch(() => undefined)) as Secret | undefined));
    }
    return secretVersions(workload.spec, (name) => found.get(name));
  }

  /** Creates `count` new instances and binds them, plus any still waiting, to agents. */
  private async placeAndSchedule(workload: Workload, hash: string, count: number, waiting: Instance[]): Promise<void> {
    if (count === 0 && waiting.length === 0) return;
    const key = workloadKey(workload.metadata.namespace!, workload.metadata.name);
    const placements = scheduleReplicas({ tenant: workload.metadata.namespace!, template: workload.spec }, this.schedulingAgents(key), count + waiting.length);
    const { store } = this.deps;
    for (const [i, instance] of waiting.entries()) {
      const placement = placements[i]!;
      if ('agent' in placement) {
        this.wrote(await store.update({ ...instance, spec: { ...instance.spec, agent: placement.agent } }));
        await recordEvent(store, workload, 'Scheduled', `instance ${instance.metadata.name} scheduled to ${placement.agent}`, this.deps.now());
      } else if (instance.status?.message !== placement.reason) {
        this.wrote(await store.updateStatus({ kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name }, { ...instance.status, state: 'Pending', message: placement.reason }));
        await recordEvent(store, workload, 'FailedScheduling', `instance ${instance.metadata.name}: ${placement.reason}`, this.deps.now(), 'Warning');
      }
    }
    for (const placement of placements.slice(waiting.length)) {
      const created = await store.create({
        apiVersion: 'lattice/v1',
        kind: 'Instance',
        metadata: {
          name: `${workload.metadata.name.slice(0, 44)}-${hash.slice(0, 5)}-${randomBytes(3).toString('hex')}`,
          namespace: workload.metadata.namespace,
          labels: { [WORKLOAD_LABEL]: workload.metadata.name },
          finalizers: [INSTANCE_FINALIZER],
        },
        spec: { workload: workload.metadata.name, ...('agent' in placement ? { agent: placement.agent } : {}), template: workload.spec, templateHash: hash },
        status: { state: 'Pending', restarts: 0, ...('reason' in placement ? { message: placement.reason } : { message: `scheduled to ${placement.agent}` }) },
      });
      this.wrote(created);
      const message = 'agent' in placement ? `instance ${created.metadata.name} scheduled to ${placement.agent}` : `instance ${created.metadata.name}: ${placement.reason}`;
      await recordEvent(store, workload, 'agent' in placement ? 'Scheduled' : 'FailedScheduling', message, this.deps.now(), 'agent' in placement ? 'Normal' : 'Warning');
    }
  }

  private schedulingAgents(workloadKeyValue: string): SchedulingAgent[] {
    return this.deps.agents.list().map((agent) => {
      const bound = this.deps.instances.byIndex('agent', agent.metadata.name).filter((i) => !isDeleting(i));
      const allocated = bound.reduce((sum, i) => {
        const request = requestOf(i.spec.template);
        return { milliCpu: sum.milliCpu + request.milliCpu, memoryBytes: sum.memoryBytes + request.memoryBytes };
      }, { milliCpu: 0, memoryBytes: 0 });
      const allocatable = agent.status?.allocatable ?? agent.status?.capacity ?? {};
      return {
        name: agent.metadata.name,
        labels: agent.metadata.labels ?? {},
        ready: agent.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        unschedulable: agent.spec.unschedulable ?? false,
        ...(agent.spec.owner ? { owner: agent.spec.owner } : {}),
        runtimes: agent.status?.runtimes ?? [],
        allocatable: { milliCpu: allocatable.cpu ? parseCpu(allocatable.cpu) : 0, memoryBytes: allocatable.memory ? parseMemory(allocatable.memory) : 0 },
        allocated,
        replicasOfWorkload: bound.filter((i) => workloadKey(i.metadata.namespace!, i.spec.workload) === workloadKeyValue).length,
      };
    });
  }

  /** Never scheduled, or on an agent that is lost: nothing runs that needs stopping first. */
  private async deleteInstance(instance: Instance): Promise<void> {
    const key = { kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name };
    const nothingToStop = !isScheduled(instance) || instance.status?.state === 'Lost';
    if (nothingToStop && instance.metadata.finalizers?.length) {
      this.wrote(await this.deps.store.update({ ...instance, metadata: { ...instance.metadata, finalizers: [] } }));
    }
    const deleted = await this.deps.store.delete(key).catch((error: { code?: string }) => {
      if (error.code !== 'NotFound') throw error;
      return undefined;
    });
    this.wrote(deleted?.object);
  }
}

function withoutTimes(status: Workload['status']): unknown {
  return status && { ...status, conditions: status.conditions?.map(({ lastTransitionTime: _, ...c }) => c) };
}
