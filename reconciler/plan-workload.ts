// Workload → Instances, as a pure function of what is desired and what exists (like Nomad's
// reconciler): which instances to place, which to stop, which to leave alone. Rollouts surge by
// one and never go below the desired number of ready replicas.
import type { Instance, ServedWorkload } from '../schemas/types.gen.ts';
import { isDeleting, isLost, isReady } from './instance-state.ts';

export interface StopDecision {
  instance: Instance;
  reason: 'ScaledDown' | 'Replaced' | 'Lost' | 'WorkloadDeleted';
}

export interface WorkloadPlan {
  /** How many new instances of the current template to create. */
  place: number;
  stop: StopDecision[];
  /** Instances left as they are. */
  ignore: Instance[];
}

/** Not ready first (stopping them costs no availability), then the newest. */
function stopOrder(a: Instance, b: Instance): number {
  const ready = Number(isReady(a)) - Number(isReady(b));
  if (ready !== 0) return ready;
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name);
}

export function planWorkload(workload: ServedWorkload, instances: readonly Instance[], desiredHash: string): WorkloadPlan {
  const current = instances.filter((i) => !isDeleting(i));
  if (workload.metadata.deletionTimestamp) {
    return { place: 0, stop: current.map((instance) => ({ instance, reason: 'WorkloadDeleted' })), ignore: [] };
  }
  const { replicas } = workload.spec;
  const stop: StopDecision[] = current.filter(isLost).map((instance) => ({ instance, reason: 'Lost' }));
  const live = current.filter((i) => !isLost(i));
  const updated = live.filter((i) => i.spec.templateHash === desiredHash);
  const old = live.filter((i) => i.spec.templateHash !== desiredHash).sort(stopOrder);
  const stopping = new Set<Instance>();
  const stopOne = (instance: Instance, reason: StopDecision['reason']) => {
    stopping.add(instance);
    stop.push({ instance, reason });
  };

  let place = 0;
  if (old.length === 0) {
    // Steady state: scale to the desired count.
    if (updated.length < replicas) place = replicas - updated.length;
    for (const instance of [...updated].sort(stopOrder).slice(0, Math.max(0, updated.length - replicas))) stopOne(instance, 'ScaledDown');
  } else {
    // Rolling update: at most replicas + 1 live, and ready replicas never below the target.
    const maxLive = replicas + 1;
    // Over the surge limit (scaled down mid-rollout): shed old instances first, unready ones
    // before ready ones, then new ones — never a ready one that would leave fewer than replicas.
    let excess = live.length - maxLive;
    let readyNow = live.filter(isReady).length;
    const newest = [...updated].sort(stopOrder);
    for (const instance of [...old.filter((i) => !isReady(i)), ...old.filter(isReady), ...newest]) {
      if (excess <= 0) break;
      if (isReady(instance) && readyNow - 1 < replicas) continue;
      stopOne(instance, 'ScaledDown');
      excess -= 1;
      if (isReady(instance)) readyNow -= 1;
    }
    const liveAfter = live.length - stopping.size;
    const updatedAfter = updated.filter((i) => !stopping.has(i));
    // Below the desired count (Lost replicas, scale-up): make it up at once. Otherwise surge by
    // one new instance at a time, each once the previous new ones are ready.
    const deficit = Math.max(0, replicas - liveAfter);
    if (deficit > 0) place = Math.min(replicas - updatedAfter.length, deficit);
    else if (updatedAfter.length < replicas && liveAfter < maxLive && updatedAfter.every(isReady)) place = 1;
    let ready = live.filter((i) => isReady(i) && !stopping.has(i)).length;
    let remaining = liveAfter + place;
    for (const instance of old) {
      if (stopping.has(instance)) continue;
      const wasReady = isReady(instance);
      // An unready old instance can go while enough others are live; a ready one only when
      // the rest are enough ready replicas.
      if (wasReady ? ready - 1 >= replicas : remaining - 1 >= replicas) {
        stopOne(instance, 'Replaced');
        remaining -= 1;
        if (wasReady) ready -= 1;
      }
    }
  }
  return { place, stop, ignore: current.filter((i) => !stop.some((s) => s.instance === i)) };
}
