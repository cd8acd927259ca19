// What a dry run of a Workload would do on the agents once rolled out: which instances stay,
// which stop, how many new ones start where, and how many would wait unscheduled. Pure; it reuses
// the reconciler's planners (template hash, scheduler) so the preview and the real rollout agree.
// It shows the end state, not the steps of the rolling update that gets there.
import type { AgentPlan, Instance, PlacementPlan, ResourceList, Secret, ServedAgent, ServedWorkload } from '../../schemas/types.gen.ts';
import { isDeleting, isLost, isReady, isScheduled } from '../../reconciler/instance-state.ts';
import { ClusterCapacity } from '../../reconciler/cluster-capacity.ts';
import { scheduleReplicas } from '../../reconciler/scheduler.ts';
import { secretVersions } from '../../reconciler/secret-refs.ts';
import { templateHash } from '../../reconciler/template-hash.ts';

/** Ready first (they keep serving), then the oldest. */
function keepOrder(a: Instance, b: Instance): number {
  return Number(isReady(b)) - Number(isReady(a)) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}

/**
 * workload: the desired object (namespace resolved); instances: every live Instance the agents
 * hold (all tenants', for the free capacity); agents: every Agent; secrets: the workload
 * namespace's Secrets (their versions are part of the template hash).
 */
export function planPlacement(
  workload: ServedWorkload,
  instances: readonly Instance[],
  agents: readonly ServedAgent[],
  secrets: readonly Secret[] = [],
  requests: { defaults?: ResourceList; sharedPerUser?: ResourceList } = {},
): PlacementPlan {
  const namespace = workload.metadata.namespace!;
  const { replicas } = workload.spec;
  const hash = templateHash(workload.spec, secretVersions(workload.spec, (name) => secrets.find((s) => s.metadata.namespace === namespace && s.metadata.name === name)));
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
  // The scheduler's view once the stopped instances are gone: the same one the reconciler keeps.
  const capacity = new ClusterCapacity(requests.defaults, requests.sharedPerUser);
  for (const agent of agents) capacity.observeAgent(agent, undefined);
  for (const instance of bound) if (!stopping.has(instance)) capacity.observeInstance(instance, undefined);
  const replicasOn = capacity.replicasOn(`${namespace}/${workload.metadata.name}`);
  const quota = capacity.sharedQuotaOf(namespace);
  const request = { tenant: namespace, template: workload.spec, sharedDefaults: capacity.sharedDefaults, ...(quota ? { sharedQuota: quota } : {}), replicasOn };
  const placements = scheduleReplicas(request, capacity.agents(), replicas - kept.length);
  for (const placement of placements) {
    if ('agent' in placement) planOf(placement.agent).deploy += 1;
    else pending.set(placement.reason, (pending.get(placement.reason) ?? 0) + 1);
  }
  return {
    agents: [...plans.values()].sort((a, b) => a.agent.localeCompare(b.agent)),
    pending: [...pending].map(([reason, count]) => ({ replicas: count, reason })),
  };
}
