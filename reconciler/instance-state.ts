// Readings of Instances (and Agents) the controllers share.
import type { Agent, Instance } from '../schemas/types.gen.ts';

export const INSTANCE_FINALIZER = 'lattice.dev/stopped-on-agent';
export const WORKLOAD_FINALIZER = 'lattice.dev/instances-stopped';
export const WORKLOAD_LABEL = 'lattice.dev/workload';

export function isDeleting(instance: Instance): boolean {
  return instance.metadata.deletionTimestamp !== undefined;
}

export function isLost(instance: Instance): boolean {
  return instance.status?.state === 'Lost';
}

/** Serving: running, and healthy if it has a health check (the runtime reports Running only then). */
export function isReady(instance: Instance): boolean {
  return instance.status?.state === 'Running' && instance.status.health !== 'Unhealthy';
}

export function isScheduled(instance: Instance): boolean {
  return instance.spec.agent !== undefined;
}

/** An Agent whose Ready condition is True (heartbeating, as the lifecycle controller judges it). */
export function isAgentReady(agent: Agent): boolean {
  return agent.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
