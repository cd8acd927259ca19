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
import type { ObjectStore } from '../store/types.ts';
import { AgentGateway } from './agents/agent-gateway.ts';
import type { ServerConfig } from './config.ts';
import { soleLeader, type LeaderLease, type Leadership } from './leader-lease.ts';
import { LogCompactor } from './log-compactor.ts';
import { NamespaceUsage } from './namespace-usage.ts';

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
  private readonly lease: LeaderLease;
  private readonly housekeeping: { controller: PeriodicController; queue: WorkQueue }[] = [];

  constructor(options: ControlPlaneOptions) {
    const { config, store, now, log } = options;
    const clock = options.clock ?? systemClock;
    const onError = (where: string, err: unknown) => log.warn({ err }, `reconcile ${where} failed; retrying`);
    this.store = store;
    this.lease = options.lease ?? soleLeader();
    // The reconciler's instance cache answers the gateway's lookups by uid; without a
    // reconciler the gateway reads nothing and writes no status.
    this.gateway = new AgentGateway({
      store,
      now,
      findInstance: (uid) => this.reconciler?.instances.byIndex('uid', uid)[0],
      isReady: (name) => {
        const agent = this.reconciler?.agents.get(undefined, name);
        return agent && isReadyCondition(agent);
      },
      log: { warn: (message) => log.warn({}, message), error: (err, message) => log.error({ err }, message) },
      heartbeatPersistMs: config.agentTimings.heartbeatPersistMs,
    });
    this.reconciler = config.reconciler
      ? new Reconciler({ store, link: this.gateway, clock, timings: config.agentTimings, defaultRequests: config.defaultRequests, sharedRequestsPerUser: config.sharedRequestsPerUser, onError })
      : undefined;
    this.usage = new NamespaceUsage(store, config.limits, (err) => log.warn({ err }, 'counting namespace usage failed; relisting'));
    const periodic: PeriodicController[] = [new LogCompactor(store, config.compactIntervalMs)];
    if (this.reconciler) periodic.push(new EventPruner(store, now, EVENT_TTL_MS, EVENT_PRUNE_INTERVAL_MS));
    for (const controller of periodic) {
      const queue = controllerQueue(controller, { clock, onError });
      queue.stop();
      this.housekeeping.push({ controller, queue });
    }
  }

  get leadership(): Leadership {
    return this.lease;
  }

  /** Caches and feeds in, then this process's own controllers; the leader's once the lease is held. */
  async start(): Promise<void> {
    await this.reconciler?.start();
    await this.usage.start();
    await this.lease.start(
      () => this.startLeaderControllers(),
      () => this.stopLeaderControllers(),
    );
  }

  startLeaderControllers(): void {
    this.reconciler?.startLeaderControllers();
    for (const { controller, queue } of this.housekeeping) {
      queue.start();
      queue.addAfter(ROUND, controller.intervalMs);
    }
  }

  /** Reconciles already running finish; nothing new starts until startLeaderControllers(). */
  stopLeaderControllers(): void {
    this.reconciler?.stopLeaderControllers();
    for (const { queue } of this.housekeeping) queue.stop();
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
    return released;
  }
}
