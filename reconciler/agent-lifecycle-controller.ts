// Agents that stop heartbeating: NotReady after a grace period; after the eviction timeout
// their instances are Lost (and replaced elsewhere by the workload controller). With several
// replicas the agent may be connected to another one: what this controller knows of it is in the
// store (its status names that replica, which closes the connection once the agent falls silent
// and then records when it was last heard) and in the replicas' own liveness.
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

/** Which control-plane replicas are alive (controlplane/replicas/replica-directory.ts). */
export interface ReplicaLiveness {
  /** This replica. */
  readonly id: string;
  isAlive(id: string): boolean;
  /** When it was last seen alive; undefined once its row is gone. */
  lastSeen(id: string): number | undefined;
}

export class AgentLifecycleController implements Controller {
  readonly name = 'agent-lifecycle';

  constructor(
    private readonly deps: {
      store: ObjectStore;
      agents: ObjectCache<ServedAgent>;
      instances: ObjectCache<Instance>;
      link: AgentLink;
      replicas?: ReplicaLiveness;
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
    const elsewhere = this.heardElsewhere(agent);
    const lastHeartbeat = Math.max(Number.isNaN(persisted) ? 0 : persisted, link.lastHeard(name) ?? 0, elsewhere.heardAt);
    // After a control-plane restart every agent gets a full grace period to reconnect.
    const silentFor = now() - Math.max(lastHeartbeat, this.deps.startedAt());
    const connected = link.observed(name) !== undefined || elsewhere.connected;
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
      // Only over what was read: the agent may just have connected to another replica, whose
      // write (Ready, naming it) must not be undone; the conflict brings this key back.
      await store.updateStatus({ kind: 'Agent', name }, { ...agent.status, conditions }, { resourceVersion: agent.metadata.resourceVersion! });
    }
    if (silentFor < timings.graceMs + timings.evictionMs) {
      return { requeueAfterMs: Math.max(1, (silentFor < timings.graceMs ? timings.graceMs : timings.graceMs + timings.evictionMs) - silentFor) };
    }
    await this.evict(name, `agent ${name} has not been heard from for ${Math.round(silentFor / 1000)} s`);
  }

  /**
   * An agent connected to another replica is heard while that replica lives (it would close a
   * silent connection and record it); once the replica is dead, as of when it was last seen.
   */
  private heardElsewhere(agent: ServedAgent): { connected: boolean; heardAt: number } {
    const holder = agent.status?.replica;
    const { replicas, now } = this.deps;
    if (!replicas || holder === undefined || holder === replicas.id) return { connected: false, heardAt: 0 };
    if (replicas.isAlive(holder)) return { connected: true, heardAt: now() };
    return { connected: false, heardAt: replicas.lastSeen(holder) ?? 0 };
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
