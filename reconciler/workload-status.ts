// A Workload's status from its instances: pure, so the controller writes only when it changes.
import type { Instance, ServedWorkload, WorkloadStatus } from '../schemas/types.gen.ts';
import { transitioned, type ConditionFacts } from '../schemas/conditions.ts';
import { isAvailable, isDeleting, isLost, isScheduled } from './instance-state.ts';

export function workloadStatus(workload: ServedWorkload, instances: readonly Instance[], desiredHash: string, now: string): WorkloadStatus {
  const { replicas } = workload.spec;
  const live = instances.filter((i) => !isDeleting(i) && !isLost(i));
  // Ready here means available: up for minReadySeconds (or passing its health check).
  const nowMs = Date.parse(now);
  const ready = live.filter((i) => isAvailable(i, workload.spec, nowMs));
  const updated = live.filter((i) => i.spec.templateHash === desiredHash);
  const failing = live.find((i) => i.status?.state === 'Failed' || i.status?.health === 'Unhealthy');
  const unscheduled = live.find((i) => !isScheduled(i));

  let phase: WorkloadStatus['phase'];
  let reason: string;
  let message: string;
  if (failing) {
    phase = 'Degraded';
    reason = 'InstanceFailing';
    message = `${failing.metadata.name}: ${failing.status?.message ?? (failing.status?.health === 'Unhealthy' ? 'unhealthy' : failing.status?.state)}`;
  } else if (ready.length >= replicas && updated.length === replicas && live.length === replicas) {
    phase = 'Running';
    reason = 'AllReplicasReady';
    message = `${ready.length}/${replicas} replicas ready`;
  } else if (replicas > 0 && live.length > 0 && live.every((i) => !isScheduled(i))) {
    phase = 'Pending';
    reason = 'Unschedulable';
    message = unscheduled?.status?.message ?? 'waiting for an agent';
  } else {
    phase = 'Progressing';
    reason = updated.length < replicas || live.length !== replicas ? 'RollingOut' : 'WaitingForReady';
    message = `${updated.length}/${replicas} updated, ${ready.length} ready`;
  }
  const previous = workload.status?.conditions;
  const tunnel = tunnelCondition(ready);
  const endpoints = ready.flatMap((i) => (i.status?.endpoints ?? []).map((e) => ({ ...e, agent: i.spec.agent! })));
  return {
    observedGeneration: workload.metadata.generation,
    phase,
    replicas: live.length,
    readyReplicas: ready.length,
    updatedReplicas: updated.length,
    conditions: [
      transitioned(previous, { type: 'Available', status: ready.length >= replicas ? 'True' : 'False', reason: ready.length >= replicas ? 'MinimumReplicasReady' : 'MinimumReplicasUnavailable', message: `${ready.length}/${replicas} ready` }, now),
      transitioned(previous, { type: 'Progressing', status: phase === 'Running' ? 'False' : 'True', reason, message }, now),
      ...(tunnel ? [transitioned(previous, tunnel, now)] : []),
    ],
    ...(endpoints.length > 0 ? { endpoints } : {}),
  };
}

/** TunnelReady of the ready instances that have one: the worst of them (False, then Unknown, then True). */
function tunnelCondition(ready: readonly Instance[]): ConditionFacts | undefined {
  const reported = ready.flatMap((i) => (i.status?.conditions ?? []).filter((c) => c.type === 'TunnelReady').map((c) => ({ instance: i.metadata.name, c })));
  const worst = reported.find(({ c }) => c.status === 'False') ?? reported.find(({ c }) => c.status === 'Unknown') ?? reported[0];
  if (!worst) return undefined;
  return { type: worst.c.type, status: worst.c.status, reason: worst.c.reason ?? 'Reported', message: `${worst.instance}: ${worst.c.message ?? ''}`.trim() };
}
