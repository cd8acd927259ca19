// The control plane apart from HTTP: the store, the agents' gateway, the controllers and the
// store's housekeeping, started and stopped as one; build() (app.ts) mounts the API over it. Every
// process runs the sync of the agents connected to it; the cluster-wide controllers (workloads,
// agent lifecycle, log compaction, event pruning) run only between startLeaderControllers() and
// stopLeaderControllers(), which the leader lease (leader-lease.ts) calls as it is won and lost, so
// that one of several replicas leads.
import type { PeriodicController } from '../reconciler/controller.ts';
import { EventPruner } from '../reconciler/events.ts';
import { isReadyCondition } from '../schemas/conditions.ts';
import { Reconciler } from '../reconciler/reconciler.ts';
import { controllerQueue, type WorkQueue } from '../reconciler/work-queue.ts';
import { systemClock, type Clock } from '../schemas/clock.ts';
import { isStoreError, type FencedError } from '../store/errors.ts';
import type { Instance } from '../schemas/types.gen.ts';
import type { ObjectStore } from '../store/types.ts';
import { AgentGateway } from './agents/agent-gateway.ts';
import type { ServerConfig } from './config.ts';
import { soleLeader, type LeaderLease, type Leadership } from './leader-lease.ts';
import { LogCompactor } from './log-compactor.ts';
import { NamespaceUsage } from './namespace-usage.ts';
import { ReplicaDirectory } from './replicas/replica-directory.ts';
import { TunnelRelay } from './relay/tunnel-relay.ts';

/** What the control plane logs through (the server's pino logger, or a quiet one in tests). */
export interface ControlPlaneLog {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ControlPlaneOptions {
  config: ServerConfig;
  store: ObjectStore;
  now: () => Date;
  log: ControlPlaneLog;
  clock?: Clock;
  /** Who leads among replicas on one PostgreSQL database; alone (SQLite), this process leads. */
  lease?: LeaderLease;
}

/** Events are short-lived by design: an hour, looked for as often as the controllers resync. */
const EVENT_TTL_MS = 3_600_000;
const EVENT_PRUNE_INTERVAL_MS = 30_000;

/** A periodic controller's one key. */
const ROUND = 'round';

export class ControlPlane {
  readonly store: ObjectStore;
  readonly gateway: AgentGateway;
  /** Absent when config.reconciler is off (API-only tests): then nothing reconciles. */
  readonly reconciler: Reconciler | undefined;
  readonly usage: NamespaceUsage;
  /** The replicas sharing the store (one, on SQLite): who is alive, and where each is reached. */
  readonly replicas: ReplicaDirectory;
  /** The built-in tunnel relay, when configured (it needs the reconciler's Instance cache). */
  readonly tunnelRelay: TunnelRelay | undefined;
  private readonly lease: LeaderLease;
  /**
   * The epoch the leader's controllers write at (through store.fenced): the lease's while they
   * run, 0 once stopped, so a reconcile still finishing after leadership was lost is refused too.
   */
  private fenceEpoch = 0;
  /** A refused write was reported since the leader's controllers last started. */
  private refusalReported = false;
  private readonly log: ControlPlaneLog;
  private readonly housekeeping: { controller: PeriodicController; queue: WorkQueue }[] = [];

  constructor(options: ControlPlaneOptions) {
    const { config, store, now, log } = options;
    const clock = options.clock ?? systemClock;
    // A fenced write is reported once, by the lease stepping down (fenced below), not per key.
    const onError = (where: string, err: unknown) => {
      if (!(isStoreError(err) && err.code === 'Fenced')) log.warn({ err }, `reconcile ${where} failed; retrying`);
    };
    this.store = store;
    this.log = log;
    this.lease = options.lease ?? soleLeader();
    // The cluster-wide controllers write through this (DESIGN §10, fencing); per-replica work
    // (the agent gateway, the agent sync) writes through the store itself.
    const leaderStore = store.fenced(() => this.fenceEpoch, (error) => this.fenced(error));
    this.replicas = new ReplicaDirectory(store.replicas, clock, log, config.advertiseUrl);
    // The reconciler's instance cache answers the gateway's lookups by uid; without a
    // reconciler the gateway reads nothing and writes no status.
    this.gateway = new AgentGateway({
      store,
      now,
      findInstance: (uid) => this.instanceByUid(uid),
      isReady: (name) => {
        const agent = this.reconciler?.agents.get(undefined, name);
        return agent && isReadyCondition(agent);
      },
      log: { warn: (message) => log.warn({}, message), error: (err, message) => log.error({ err }, message) },
      heartbeatPersistMs: config.agentTimings.heartbeatPersistMs,
      silenceMs: config.agentTimings.graceMs,
      replica: this.replicas.id,
    });
    // Rotated, joined again or deleted, here or on another replica: whoever holds the old credential is cut off.
    store.auth.onRevoked((revocation) => {
      if ('agent' in revocation) this.gateway.disconnect(revocation.agent, 'this agent\'s credential was replaced or revoked (rotated, joined again, or the Agent deleted)');
    });
    this.reconciler = config.reconciler
      ? new Reconciler({ store, leaderStore, link: this.gateway, replicas: this.replicas, clock, timings: config.agentTimings, defaultRequests: config.defaultRequests, sharedRequestsPerUser: config.sharedRequestsPerUser, onError })
      : undefined;
    this.tunnelRelay =
      config.tunnelRelay && this.reconciler
        ? new TunnelRelay({
            config: config.tunnelRelay,
            ports: store.tunnelPorts,
            findInstance: (uid) => this.instanceByUid(uid),
            log: (message) => log.warn({}, message),
          })
        : undefined;
    this.usage = new NamespaceUsage(store, config.limits, (err) => log.warn({ err }, 'counting namespace usage failed; relisting'));
    const periodic: PeriodicController[] = [new LogCompactor(leaderStore, config.compactIntervalMs)];
    if (this.reconciler) periodic.push(new EventPruner(leaderStore, now, EVENT_TTL_MS, EVENT_PRUNE_INTERVAL_MS));
    for (const controller of periodic) {
      const queue = controllerQueue(controller, { clock, onError });
      queue.stop();
      this.housekeeping.push({ controller, queue });
    }
  }

  /** From the reconciler's cache (none without a reconciler): the gateway's and the relay's lookups. */
  private instanceByUid(uid: string): Instance | undefined {
    return this.reconciler?.instances.byIndex('uid', uid)[0];
  }

  get leadership(): Leadership {
    return this.lease;
  }

  /** Caches and feeds in, then this process's own controllers; the leader's once the lease is held. */
  async start(): Promise<void> {
    await this.replicas.start();
    await this.reconciler?.start();
    // After the Instance cache is filled: the relay's sweep takes an Instance missing there as deleted.
    await this.tunnelRelay?.start();
    await this.usage.start();
    await this.lease.start(
      () => this.startLeaderControllers(),
      () => this.stopLeaderControllers(),
    );
  }

  startLeaderControllers(): void {
    this.fenceEpoch = this.lease.epoch;
    this.refusalReported = false;
    this.reconciler?.startLeaderControllers();
    for (const { controller, queue } of this.housekeeping) {
      queue.start();
      queue.addAfter(ROUND, controller.intervalMs);
    }
  }

  /** Nothing new starts until startLeaderControllers(); resolves once the reconciles already running have finished. */
  stopLeaderControllers(): Promise<void> {
    this.fenceEpoch = 0;
    const finishing = [this.reconciler?.stopLeaderControllers()];
    for (const { queue } of this.housekeeping) {
      queue.stop();
      finishing.push(queue.idle());
    }
    return Promise.all(finishing).then(() => {});
  }

  /**
   * A leader's write was refused: another replica leads now. Step down at once (the lease warns).
   * Refusals of reconciles still finishing after leadership was lost otherwise (at epoch 0) are
   * reported once, so that a paused leader's stale work is seen to be stopped.
   */
  private fenced(error: FencedError): void {
    if (this.refusalReported) return;
    this.refusalReported = true;
    if (this.lease.leading) this.lease.stepDown(error.message);
    else this.log.warn({ epoch: error.currentEpoch }, `leader: a write of a reconcile still running when this replica stopped leading was refused (${error.message}); later ones are not logged`);
  }

  /**
   * Before the store closes (it is its opener's): every controller, feed and agent connection
   * stops at once; the promise is the lease's session ending, which frees it for a standby.
   */
  stop(): Promise<void> {
    this.stopLeaderControllers();
    const released = this.lease.stop();
    this.usage.stop();
    this.reconciler?.stop();
    this.gateway.closeAll();
    this.tunnelRelay?.stop();
    return Promise.all([released, this.replicas.stop()]).then(() => {});
  }
}
