// Wires the caches, queues and controllers. Level-triggered: any change enqueues the keys it
// affects; a periodic resync enqueues everything, so a missed trigger heals itself. The agent sync
// serves the agents connected to this process; the workload and lifecycle controllers act for the
// whole cluster, so they run only between startLeaderControllers() and stopLeaderControllers().
import { isDeepStrictEqual } from 'node:util';
import type { Instance, ResourceList, Secret, ServedAgent, ServedWorkload } from '../schemas/types.gen.ts';
import type { ObjectStore } from '../store/types.ts';
import type { AgentLink } from './agent-link.ts';
import { AgentLifecycleController, type LifecycleTimings, type ReplicaLiveness } from './agent-lifecycle-controller.ts';
import { AgentSyncController } from './agent-sync-controller.ts';
import { ClusterCapacity } from './cluster-capacity.ts';
import { systemClock, type Clock } from '../schemas/clock.ts';
import { isScheduled } from './instance-state.ts';
import { ObjectCache } from './object-cache.ts';
import { controllerQueue, type WorkQueue } from './work-queue.ts';
import type { Controller } from './controller.ts';
import { WorkloadController, workloadKey } from './workload-controller.ts';
import { referencedSecrets } from './secret-refs.ts';

export interface ReconcilerOptions {
  store: ObjectStore;
  /**
   * What the cluster-wide controllers (workloads, agent lifecycle) write through: the leader's
   * fenced view of store (ObjectStore.fenced), so a replica that lost the lease writes nothing.
   * Default: store.
   */
  leaderStore?: ObjectStore;
  link: AgentLink;
  /** The control-plane replicas: an agent connected to a live one is heard (absent: only this process's connections count). */
  replicas?: ReplicaLiveness;
  clock?: Clock;
  timings?: Partial<LifecycleTimings>;
  resyncMs?: number;
  onError?: (where: string, error: unknown) => void;
  /** Workloads reconciled at once; their writes share group commits. */
  workloadConcurrency?: number;
  /** What a replica stating no cpu or memory counts as on a shared agent. */
  defaultRequests?: ResourceList;
  /** What one user may request in all on shared agents other users run; absent: no limit. */
  sharedRequestsPerUser?: ResourceList;
}

export const DEFAULT_TIMINGS: LifecycleTimings = { graceMs: 15_000, evictionMs: 30_000 };

export class Reconciler {
  readonly workloads: ObjectCache<ServedWorkload>;
  readonly instances: ObjectCache<Instance>;
  readonly agents: ObjectCache<ServedAgent>;
  readonly secrets: ObjectCache<Secret>;
  private readonly queues: WorkQueue[] = [];
  /** The cluster-wide controllers' queues: stopped unless this process leads. */
  private readonly leaderQueues: WorkQueue[] = [];
  private resyncTimer: unknown;
  private readonly clock: Clock;
  /** When the leader's controllers last started: agents' silence before it is not their fault. */
  private leadingSince = Number.POSITIVE_INFINITY;
  private synced = false;

  constructor(private readonly options: ReconcilerOptions) {
    const { store, link } = options;
    const clock = (this.clock = options.clock ?? systemClock);
    const onError = (where: string) => (error: unknown) => options.onError?.(where, error);
    this.workloads = new ObjectCache<ServedWorkload>(store, 'Workload', onError('workload cache'));
    this.instances = new ObjectCache<Instance>(store, 'Instance', onError('instance cache'));
    this.agents = new ObjectCache<ServedAgent>(store, 'Agent', onError('agent cache'));
    this.secrets = new ObjectCache<Secret>(store, 'Secret', onError('secret cache'));
    this.workloads.addIndex('secret', (w) => referencedSecrets(w.spec).map((name) => workloadKey(w.metadata.namespace!, name)));
    this.instances.addIndex('workload', (i) => [workloadKey(i.metadata.namespace!, i.spec.workload)]);
    this.instances.addIndex('agent', (i) => (i.spec.agent ? [i.spec.agent] : []));
    this.instances.addIndex('uid', (i) => [i.metadata.uid!]);
    // An Instance's template is its Workload's spec when it was made: the same again for each of
    // them unless it is shared with the Workload's own copy, which stays the same object across
    // status writes. A spec is unchanged while the generation is (the store bumps it with every
    // change), so only a new generation is compared.
    this.workloads.compactWith((workload, previous) =>
      previous && sameGeneration(workload, previous) && workload.spec !== previous.spec ? { ...workload, spec: previous.spec } : workload,
    );
    this.instances.compactWith((instance, previous) => {
      const template = previous && sameGeneration(instance, previous) ? previous.spec.template : this.workloadSpecLike(instance);
      return template && template !== instance.spec.template ? { ...instance, spec: { ...instance.spec, template } } : instance;
    });
    this.instances.addIndex('unscheduled', (i) => (isScheduled(i) ? [] : [workloadKey(i.metadata.namespace!, i.spec.workload)]));

    const queue = (controller: Controller, concurrency = 4) => {
      const q = controllerQueue(controller, { clock, concurrency, ...(options.onError ? { onError: options.onError } : {}) });
      this.queues.push(q);
      return q;
    };
    const leaderQueue = (controller: Controller, concurrency?: number) => {
      const q = queue(controller, concurrency);
      q.stop();
      this.leaderQueues.push(q);
      return q;
    };
    const capacity = new ClusterCapacity(options.defaultRequests, options.sharedRequestsPerUser);
    this.agents.onChange((current, previous) => capacity.observeAgent(current, previous));
    this.instances.onChange((current, previous) => capacity.observeInstance(current, previous));
    const leaderStore = options.leaderStore ?? store;
    const workloadController = new WorkloadController({
      store: leaderStore,
      workloads: this.workloads,
      instances: this.instances,
      capacity,
      secrets: this.secrets,
      now: () => new Date(clock.now()),
    });
    const workloadQueue = leaderQueue(workloadController, options.workloadConcurrency ?? 32);
    const syncQueue = queue(new AgentSyncController({ store, instances: this.instances, link }));
    const lifecycleQueue = leaderQueue(
      new AgentLifecycleController({
        store: leaderStore,
        agents: this.agents,
        instances: this.instances,
        link,
        ...(options.replicas ? { replicas: options.replicas } : {}),
        timings: { ...DEFAULT_TIMINGS, ...options.timings },
        now: () => clock.now(),
        startedAt: () => this.leadingSince,
      }),
    );

    // Like controller-runtime's WaitForCacheSync: nothing is reconciled from a half-listed
    // cache (a Workload listed before its Instances would look like it had none); once every
    // cache is in, start() enqueues everything.
    this.workloads.onChange((current, previous) => {
      // The workload controller is the only writer of Workload status and computes it from the
      // instances: a change of status alone (its own write coming back) needs no reconcile.
      if (!this.synced || onlyStatusChanged(current, previous)) return;
      const w = current ?? previous!;
      workloadQueue.add(workloadKey(w.metadata.namespace!, w.metadata.name));
    });
    this.instances.onChange((current, previous) => {
      if (!this.synced) return;
      // The agent sync diffs bindings and deletions against what agents report; an Instance's
      // status (mostly a report written back, which the gateway passes on itself otherwise)
      // changes neither.
      const statusOnly = onlyStatusChanged(current, previous);
      for (const instance of [current, previous]) {
        if (!instance) continue;
        workloadQueue.add(workloadKey(instance.metadata.namespace!, instance.spec.workload));
        if (instance.spec.agent && !statusOnly) syncQueue.add(instance.spec.agent);
      }
    });
    this.agents.onChange((current, previous) => {
      if (!this.synced) return;
      const name = (current ?? previous!).metadata.name;
      lifecycleQueue.add(name);
      // A new or changed agent may fit instances still waiting for one.
      for (const key of this.instances.indexValues('unscheduled')) workloadQueue.add(key);
    });
    // A changed Secret rolls the workloads whose env refers to it (its version is in their template hash).
    this.secrets.onChange((current, previous) => {
      const secret = current ?? previous!;
      for (const w of this.workloads.byIndex('secret', workloadKey(secret.metadata.namespace!, secret.metadata.name))) workloadQueue.add(workloadKey(w.metadata.namespace!, w.metadata.name));
    });
    link.onAgentChange((agent, change) => {
      if (!this.synced) return;
      syncQueue.add(agent);
      // Liveness, not what the agent runs: a report (one per instance change) is no news to it.
      if (change === 'connection') lifecycleQueue.add(agent);
    });
    this.resyncAll = () => {
      for (const w of this.workloads.list()) workloadQueue.add(workloadKey(w.metadata.namespace!, w.metadata.name));
      for (const a of this.agents.list()) {
        syncQueue.add(a.metadata.name);
        lifecycleQueue.add(a.metadata.name);
      }
    };
  }

  private readonly resyncAll: () => void;

  /** The cached Workload's spec when the instance's template equals it (one copy for both). */
  private workloadSpecLike(instance: Instance): Instance['spec']['template'] | undefined {
    const workload = this.workloads.get(instance.metadata.namespace, instance.spec.workload);
    return workload && isDeepStrictEqual(instance.spec.template, workload.spec) ? workload.spec : undefined;
  }

  /** Fills the caches, then runs this process's own controllers (the agent sync); the leader's wait for startLeaderControllers(). */
  async start(): Promise<void> {
    await Promise.all([this.workloads.start(), this.instances.start(), this.agents.start(), this.secrets.start()]);
    this.synced = true;
    this.resyncAll();
    const tick = () => {
      this.resyncAll();
      this.resyncTimer = this.clock.setTimeout(tick, this.options.resyncMs ?? 30_000);
    };
    this.resyncTimer = this.clock.setTimeout(tick, this.options.resyncMs ?? 30_000);
  }

  /** After start(): the cluster-wide controllers look at everything, and go on reacting to changes. */
  startLeaderControllers(): void {
    this.leadingSince = this.clock.now();
    for (const q of this.leaderQueues) q.start();
    if (this.synced) this.resyncAll();
  }

  /** The cluster-wide controllers take no more keys; a reconcile already running finishes. */
  stopLeaderControllers(): Promise<void> {
    for (const q of this.leaderQueues) q.stop();
    return Promise.all(this.leaderQueues.map((q) => q.idle())).then(() => {});
  }

  stop(): void {
    this.clock.clearTimeout(this.resyncTimer);
    for (const q of this.queues) q.stop();
    this.workloads.stop();
    this.instances.stop();
    this.agents.stop();
    this.secrets.stop();
  }
}

/** The same incarnation at the same spec (the store bumps the generation with every spec change). */
function sameGeneration(object: ServedWorkload | Instance, previous: ServedWorkload | Instance): boolean {
  return object.metadata.uid === previous.metadata.uid && object.metadata.generation === previous.metadata.generation;
}

/** Only status changed: like controller-runtime's GenerationChangedPredicate, plus what metadata the controllers read. */
function onlyStatusChanged(current: ServedWorkload | Instance | undefined, previous: ServedWorkload | Instance | undefined): boolean {
  if (!current || !previous || !sameGeneration(current, previous)) return false;
  const now = current.metadata;
  const before = previous.metadata;
  return (
    now.deletionTimestamp === before.deletionTimestamp &&
    isDeepStrictEqual(now.finalizers, before.finalizers) &&
    isDeepStrictEqual(now.labels, before.labels)
  );
}
