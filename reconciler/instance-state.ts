// Readings of Instances the controllers share.
import type { Instance, WorkloadSpec } from '../schemas/types.gen.ts';

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

/** Without a health check an instance must stay up this long to count (see WorkloadSpec.minReadySeconds). */
export const DEFAULT_MIN_READY_SECONDS = 2;

export function minReadyMs(spec: WorkloadSpec): number {
  return 1000 * (spec.minReadySeconds ?? (spec.healthCheck ? 0 : DEFAULT_MIN_READY_SECONDS));
}

/**
 * When a ready instance counts as available (up for minReadySeconds): its Workload is Running
 * only once every replica is. undefined while it is not ready at all.
 */
export function availableAt(instance: Instance, spec: WorkloadSpec): number | undefined {
  if (!isReady(instance)) return undefined;
  const started = Date.parse(instance.status?.startedAt ?? '');
  return (Number.isNaN(started) ? 0 : started) + minReadyMs(spec);
}

export function isAvailable(instance: Instance, spec: WorkloadSpec, nowMs: number): boolean {
  const at = availableAt(instance, spec);
  return at !== undefined && at <= nowMs;
}

export function isScheduled(instance: Instance): boolean {
  return instance.spec.agent !== undefined;
}
