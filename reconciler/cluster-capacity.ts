// What the scheduler reads, kept up to date as the caches change instead of recomputed per
// placement: one SchedulingAgent view per agent, the requests bound to each agent, and how many
// replicas of each workload every agent holds. Placements made here and not yet seen back
// through the watch are "assumed" (as the Kubernetes scheduler calls it), so reconciles running
// at the same time never fill an agent past its capacity.
import type { Instance, ResourceList, ServedAgent } from '../schemas/types.gen.ts';
import { isDeleting } from './instance-state.ts';
import { isReadyCondition } from '../schemas/conditions.ts';
import { parseCpu, parseMemory } from '../schemas/quantity.ts';
import { runsFor, type SchedulingAgent } from './scheduler.ts';
import type { ResourceAmount } from './types.ts';

interface Binding {
  agent: string;
  workload: string;
  request: ResourceAmount;
  /** The namespace's user, when the agent is shared and not its own: the use counts against its share. */
  stranger?: string;
  /** Made by this process and not yet seen in the instance cache. */
  assumed: boolean;
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
const workloadOf = (instance: Instance) => `${instance.metadata.namespace}/${instance.spec.workload}`;

export class ClusterCapacity {
  /** What a replica stating no cpu or memory counts as on a shared agent (see SchedulingRequest.sharedDefaults). */
  readonly sharedDefaults: ResourceAmount;
  private readonly views = new Map<string, SchedulingAgent>();
  private viewList: SchedulingAgent[] | undefined;
  /** Instance key → where it is bound and what it asks for. */
  private readonly bindings = new Map<string, Binding>();
  /** Agent → the sum of the requests bound there (the object the agent's view points at). */
  private readonly allocated = new Map<string, ResourceAmount>();
  /** Workload key → agent → replicas bound there. */
  private readonly replicas = new Map<string, Map<string, number>>();
  private readonly requests = new Map<string, ResourceAmount>();

  /** What one user may have requested on shared agents other users run; absent: no limit. */
  readonly sharedLimit: ResourceAmount | undefined;
  /** User → what it has requested on shared agents other users run. */
  private readonly sharedUse = new Map<string, ResourceAmount>();

  constructor(defaultRequests: ResourceList = {}, sharedLimitPerUser?: ResourceList) {
    this.sharedDefaults = { milliCpu: this.quantity(defaultRequests.cpu, parseCpu), memoryBytes: this.quantity(defaultRequests.memory, parseMemory) };
    this.sharedLimit = sharedLimitPerUser && { milliCpu: this.quantity(sharedLimitPerUser.cpu, parseCpu), memoryBytes: this.quantity(sharedLimitPerUser.memory, parseMemory) };
  }

  /** The user's share of shared agents, for SchedulingRequest.sharedQuota; undefined without a limit. */
  sharedQuotaOf(user: string): { limit: ResourceAmount; used: ResourceAmount } | undefined {
    return this.sharedLimit && { limit: this.sharedLimit, used: this.sharedUse.get(user) ?? { milliCpu: 0, memoryBytes: 0 } };
  }

  /** Every agent, as the scheduler sees it; the allocations inside are live (read, never keep). */
  agents(): readonly SchedulingAgent[] {
    return (this.viewList ??= [...this.views.values()]);
  }

  replicasOn(workloadKey: string): ReadonlyMap<string, number> {
    return this.replicas.get(workloadKey) ?? new Map();
  }

  observeAgent(current: ServedAgent | undefined, previous: ServedAgent | undefined): void {
    this.viewList = undefined;
    if (!current) {
      this.views.delete(previous!.metadata.name);
      return;
    }
    const name = current.metadata.name;
    const allocatable = current.status?.allocatable ?? current.status?.capacity ?? {};
    this.views.set(name, {
      name,
      labels: current.metadata.labels ?? {},
      ready: isReadyCondition(current),
      unschedulable: current.spec.unschedulable,
      ...(current.spec.owner ? { owner: current.spec.owner } : {}),
      ...(current.spec.joinedBy ? { joinedBy: current.spec.joinedBy } : {}),
      tenantProcesses: current.status?.tenantProcesses === true,
      hostNetwork: current.status?.dockerNetwork === 'host',
      tenantHostNetwork: current.status?.tenantHostNetwork === true,
      runtimes: current.status?.runtimes ?? [],
      allocatable: { milliCpu: this.quantity(allocatable.cpu, parseCpu), memoryBytes: this.quantity(allocatable.memory, parseMemory) },
      allocated: this.allocatedOn(name),
    });
  }

  /** An instance changed in the cache: it replaces whatever was assumed under its name. */
  observeInstance(current: Instance | undefined, previous: Instance | undefined): void {
    const instance = current ?? previous!;
    const key = keyOf(instance.metadata.namespace, instance.metadata.name);
    this.unbind(key);
    if (current && current.spec.agent !== undefined && !isDeleting(current)) {
      this.bind(key, { agent: current.spec.agent, workload: workloadOf(current), request: this.requestOf(current), assumed: false, ...this.strangerOf(current) });
    }
  }

  /** This process is about to bind the instance: count it now, before the write comes back. */
  assume(instance: Instance): void {
    const key = keyOf(instance.metadata.namespace, instance.metadata.name);
    this.unbind(key);
    this.bind(key, { agent: instance.spec.agent!, workload: workloadOf(instance), request: this.requestOf(instance), assumed: true, ...this.strangerOf(instance) });
  }

  /** The write of an assumed binding failed: it will not come back. */
  forget(instance: Instance): void {
    const key = keyOf(instance.metadata.namespace, instance.metadata.name);
    if (this.bindings.get(key)?.assumed) this.unbind(key);
  }

  /** On a shared agent that another user runs, the instance's user (namespace name = user). */
  private strangerOf(instance: Instance): { stranger?: string } {
    const view = this.views.get(instance.spec.agent ?? '');
    const user = instance.metadata.namespace!;
    return view && !runsFor(view, user) ? { stranger: user } : {};
  }

  private bind(key: string, binding: Binding): void {
    this.bindings.set(key, binding);
    const total = this.allocatedOn(binding.agent);
    total.milliCpu += binding.request.milliCpu;
    total.memoryBytes += binding.request.memoryBytes;
    if (binding.stranger !== undefined) {
      const use = this.sharedUse.get(binding.stranger) ?? { milliCpu: 0, memoryBytes: 0 };
      this.sharedUse.set(binding.stranger, { milliCpu: use.milliCpu + binding.request.milliCpu, memoryBytes: use.memoryBytes + binding.request.memoryBytes });
    }
    let perAgent = this.replicas.get(binding.workload);
    if (!perAgent) this.replicas.set(binding.workload, (perAgent = new Map()));
    perAgent.set(binding.agent, (perAgent.get(binding.agent) ?? 0) + 1);
  }

  private unbind(key: string): void {
    const binding = this.bindings.get(key);
    if (!binding) return;
    this.bindings.delete(key);
    const total = this.allocatedOn(binding.agent);
    total.milliCpu -= binding.request.milliCpu;
    total.memoryBytes -= binding.request.memoryBytes;
    if (binding.stranger !== undefined) {
      const use = this.sharedUse.get(binding.stranger)!;
      const left = { milliCpu: use.milliCpu - binding.request.milliCpu, memoryBytes: use.memoryBytes - binding.request.memoryBytes };
      if (left.milliCpu <= 0 && left.memoryBytes <= 0) this.sharedUse.delete(binding.stranger);
      else this.sharedUse.set(binding.stranger, left);
    }
    const perAgent = this.replicas.get(binding.workload)!;
    const count = perAgent.get(binding.agent)! - 1;
    if (count > 0) perAgent.set(binding.agent, count);
    else perAgent.delete(binding.agent);
    if (perAgent.size === 0) this.replicas.delete(binding.workload);
  }

  private allocatedOn(agent: string): ResourceAmount {
    let total = this.allocated.get(agent);
    if (!total) this.allocated.set(agent, (total = { milliCpu: 0, memoryBytes: 0 }));
    return total;
  }

  // Quantities repeat across thousands of instances: parse each distinct pair once. A quantity
  // that slipped past the schema counts as 0 here; the scheduler reports it on placement. On a
  // shared agent what the template leaves out counts as the shared default, as it did when placed.
  private requestOf(instance: Instance): ResourceAmount {
    const { cpu, memory } = instance.spec.template.resources ?? {};
    const shared = this.views.get(instance.spec.agent ?? '')?.owner === undefined;
    const memo = `${cpu ?? ''}|${memory ?? ''}|${shared}`;
    let request = this.requests.get(memo);
    if (!request) {
      request = {
        milliCpu: cpu === undefined && shared ? this.sharedDefaults.milliCpu : this.quantity(cpu, parseCpu),
        memoryBytes: memory === undefined && shared ? this.sharedDefaults.memoryBytes : this.quantity(memory, parseMemory),
      };
      if (this.requests.size < 10_000) this.requests.set(memo, request);
    }
    return request;
  }

  private quantity(value: string | undefined, parse: (q: string) => number): number {
    if (value === undefined) return 0;
    try {
      return parse(value);
    } catch {
      return 0;
    }
  }
}
