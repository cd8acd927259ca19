// Agents that stop heartbeating: NotReady after a grace period; after the eviction timeout
// their instances are Lost (and replaced elsewhere by the workload controller).
import type { Condition, Instance, ServedAgent } from '../schemas/types.gen.ts';
import type { ObjectStore } from '../store/types.ts';
import type { AgentLink } from './agent-link.ts';
import type { Controller, ReconcileResult } from './controller.ts';
import { isDeleting } from './instance-state.ts';
import type { ObjectCache } from './object-cache.ts';

export interface LifecycleTimings {
  /** Without a heartbeat for this long an agent is NotReady. */
  graceMs: number;
  /** ...and this much longer, its instances are Lost. */
  evictionMs: number;
}

export class AgentLifecycleController implements Controller {
  readonly name = 'agent-lifecycle';

  constructor(
    private readonly deps: {
      store: ObjectStore;
      agents: ObjectCache<ServedAgent>;
      instances: ObjectCache<Instance>;
      link: AgentLink;
      timings: LifecycleTimings;
      now: () => number;
      /** When this controller started (last) in this process: silence before it is not the agent's fault. */
      startedAt: () => number;
    },
  ) {}

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const { store, agents, instances, timings, now, link } = this.deps;
    const agent = agents.get(undefined, name);
    // Deleted (and its credential revoked): what it ran is Lost at once, and replaced elsewhere.
    if (!agent) return this.evict(name, `agent ${name} was deleted`);
    // Heartbeats are kept in memory by the connection's holder and persisted only now and then.
    const persisted = Date.parse(agent.status?.lastHeartbeatTime ?? agent.metadata.creationTimestamp ?? '');
    const lastHeartbeat = Math.max(Number.isNaN(persisted) ? 0 : persisted, link.lastHeard(name) ?? 0);
    // After a control-plane restart every agent gets a full grace period to reconnect.
    const silentFor = now() - Math.max(lastHeartbeat, this.deps.startedAt());
    const connected = link.observed(name) !== undefined;
    if (connected && silentFor < timings.graceMs) return { requeueAfterMs: timings.graceMs - silentFor };
    const ready = agent.status?.conditions?.find((c) => c.type === 'Ready');
    if (silentFor >= timings.graceMs && ready?.status !== 'False') {
      const condition: Condition = {
        type: 'Ready',
        status: 'False',
        reason: 'HeartbeatMissed',
        message: `no heartbeat for ${Math.round(silentFor / 1000)} s`,
        lastTransitionTime: new Date(now()).toISOString(),
      };
      const conditions = [...(agent.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), condition];
      await store.updateStatus({ kind: 'Agent', name }, { ...agent.status, conditions });
    }
    if (silentFor < timings.graceMs + timings.evictionMs) {
      return { requeueAfterMs: Math.max(1, (silentFor < timings.graceMs ? timings.graceMs : timings.graceMs + timings.evictionMs) - silentFor) };
    }
    await this.evict(name, `agent ${name} has not been heard from for ${Math.round(silentFor / 1000)} s`);
  }

  /** The agent's instances are Lost (the workload controller replaces them); deletions it would have confirmed finish. */
  private async evict(name: string, reason: string): Promise<void> {
    const { store, instances } = this.deps;
    for (const instance of instances.byIndex('agent', name)) {
      const key = { kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name };
      if (isDeleting(instance)) {
        // Nobody is left to confirm the stop: let the deletion finish.
        await store.update({ ...instance, metadata: { ...instance.metadata, finalizers: [] } }).catch(ignoreNotFound);
      } else if (instance.status?.state !== 'Lost') {
        await store.updateStatus(key, { ...instance.status, state: 'Lost', message: reason }, { basis: instance }).catch(ignoreNotFound);
      }
    }
  }
}

function ignoreNotFound(error: { code?: string }): void {
  if (error.code !== 'NotFound') throw error;
}
