// What a dry run of a Workload would do on the agents once rolled out: which instances stay,
// which stop, how many new ones start where, and how many would wait unscheduled. Pure; it reuses
// the reconciler's planners (template hash, scheduler) so the preview and the real rollout agree.
// It shows the end state, not the steps of the rolling update that gets there.
import type { Agent, Instance, Workload } from '../../schemas/types.gen.ts';
import { isDeleting, isLost, isReady, isScheduled } from '../../reconciler/instance-state.ts';
import { parseCpu, parseMemory, requestOf } from '../../reconciler/quantity.ts';
import { scheduleReplicas, type SchedulingAgent } from '../../reconciler/scheduler.ts';
import { templateHash } from '../../reconciler/template-hash.ts';

export interface AgentPlan {
  agent: string;
  /** Instances of this workload that keep running there, untouched. */
  keep: number;
  /** New instances to start there. */
  deploy: number;
  stop: { instance: string; reason: 'Replaced' | 'ScaledDown' }[];
}

export interface PlacementPlan {
  agents: AgentPlan[];
  /** Replicas no agent can take now, with the scheduler's reason. */
  pending: { replicas: number; reason: string }[];
}

/** Ready first (they keep serving), then the oldest. */
function keepOrder(a: Instance, b: Instance): number {
  return Number(isReady(b)) - Number(isReady(a)) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}

function sum(instances: readonly Instance[]): { milliCpu: number; memoryBytes: number } {
  return instances.reduce(
    (total, i) => {
      const request = requestOf(i.spec.template);
      return { milliCpu: total.milliCpu + request.milliCpu, memoryBytes: total.memoryBytes + request.memoryBytes };
    },
    { milliCpu: 0, memoryBytes: 0 },
  );
}

/**
 * workload: the desired object (namespace resolved); instances: every live Instance the agents
 * hold (all tenants', for the free capacity); agents: every Agent.
 */
export function planPlacement(workload: Workload, instances: readonly Instance[], agents: readonly Agent[]): PlacementPlan {
  const namespace = workload.metadata.namespace!;
  const replicas = workload.spec.replicas ?? 1;
  const hash = templateHash(workload.spec);
  const bound = instances.filter((i) => !isDeleting(i) && isScheduled(i) && !isLost(i));
  const own = bound.filter((i) => i.metadata.namespace === namespace && i.spec.workload === workload.metadata.name);
  const current = own.filter((i) => i.spec.templateHash === hash).sort(keepOrder);
  const kept = current.slice(0, replicas);
  const stopping = new Map<Instance, 'Replaced' | 'ScaledDown'>([
    ...own.filter((i) => i.spec.templateHash !== hash).map((i) => [i, 'Replaced'] as const),
    ...current.slice(replicas).map((i) => [i, 'ScaledDown'] as const),
  ]);
  const plans = new Map<string, AgentPlan>();
  const planOf = (agent: string) => {
    let plan = plans.get(agent);
    if (!plan) plans.set(agent, (plan = { agent, keep: 0, deploy: 0, stop: [] }));
    return plan;
  };
  for (const instance of kept) planOf(instance.spec.agent!).keep += 1;
  for (const [instance, reason] of stopping) planOf(instance.spec.agent!).stop.push({ instance: instance.metadata.name, reason });

  const pending = new Map<string, number>();
  const placements = scheduleReplicas({ tenant: namespace, template: workload.spec }, schedulingAgents(agents, bound.filter((i) => !stopping.has(i)), kept), replicas - kept.length);
  for (const placement of placements) {
    if ('agent' in placement) planOf(placement.agent).deploy += 1;
    else pending.set(placement.reason, (pending.get(placement.reason) ?? 0) + 1);
  }
  return {
    agents: [...plans.values()].sort((a, b) => a.agent.localeCompare(b.agent)),
    pending: [...pending].map(([reason, count]) => ({ replicas: count, reason })),
  };
}

/** The scheduler's view of the agents once the stopped instances are gone. */
function schedulingAgents(agents: readonly Agent[], remaining: readonly Instance[], kept: readonly Instance[]): SchedulingAgent[] {
  return agents.map((agent) => {
    const name = agent.metadata.name;
    const allocatable = agent.status?.allocatable ?? agent.status?.capacity ?? {};
    return {
      name,
      labels: agent.metadata.labels ?? {},
      ready: agent.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      unschedulable: agent.spec.unschedulable ?? false,
      ...(agent.spec.owner ? { owner: agent.spec.owner } : {}),
      runtimes: agent.status?.runtimes ?? [],
      allocatable: { milliCpu: allocatable.cpu ? parseCpu(allocatable.cpu) : 0, memoryBytes: allocatable.memory ? parseMemory(allocatable.memory) : 0 },
      allocated: sum(remaining.filter((i) => i.spec.agent === name)),
      replicasOfWorkload: kept.filter((i) => i.spec.agent === name).length,
    };
  });
}
