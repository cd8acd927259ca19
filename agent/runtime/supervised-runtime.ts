// What both runtimes do the same way around their RunSupervisors: one per instance, operations on
// an instance one after the other, deploy (a no-op for the same template, a replacement for
// another), stop, listing, change listeners, and close. Each runtime adds how it finds what an
// earlier agent left, its driver, logs and stats.
import { systemClock, type Clock } from '../../schemas/clock.ts';
import type { BackoffOptions } from './backoff.ts';
import { RunSupervisor, type RunDriver } from './run-supervisor.ts';
import { ChangeFanout } from './change-fanout.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { DeploySpec, InstanceStats, LogOptions, ObservedInstance, Runtime, RuntimeName, StopOptions } from './types.ts';

export interface SupervisionOptions {
  /** The address endpoints are reported with. Default 127.0.0.1. */
  advertiseAddress?: string;
  /** Time between SIGTERM and SIGKILL on stop. Default 10 s. */
  stopGraceMs?: number;
  /** Crash-loop backoff: 10 s doubling to 5 min, reset after a 10 s run, by default. */
  backoff?: BackoffOptions;
  /** Time for startedAt, run durations, restart back-offs and health check intervals. Default the system's. */
  clock?: Clock;
  /** Timeout of one health probe. Default 5 s. */
  healthTimeoutMs?: number;
  /**
   * Scales healthCheck.intervalSeconds: an interval lasts intervalSeconds × 1000 × scale ms.
   * Default 1; tests pass e.g. 0.1 to probe every 100 ms with intervalSeconds 1.
   */
  healthIntervalScale?: number;
}

export abstract class SupervisedRuntime<H> implements Runtime {
  abstract readonly name: RuntimeName;
  protected readonly supervisors = new Map<string, RunSupervisor<H>>();
  protected readonly queue = new KeyedQueue();
  protected readonly clock: Clock;
  protected closed = false;
  private readonly changes = new ChangeFanout();

  protected constructor(private readonly supervision: SupervisionOptions) {
    this.clock = supervision.clock ?? systemClock;
  }

  /** The driver of a new instance's runs. */
  protected abstract driverFor(spec: DeploySpec): RunDriver<H>;

  /** After an instance was stopped: what else goes with it (files, volumes). */
  protected abstract removed(spec: DeploySpec, options: StopOptions): Promise<void>;

  /** Forgets what the runtime kept about an instance's current run (its replacement starts afresh). */
  protected forget(_uid: string): void {}

  abstract logs(uid: string, options?: LogOptions): AsyncIterable<string>;
  abstract stats(uid: string): Promise<InstanceStats>;

  async deploy(spec: DeploySpec): Promise<void> {
    this.assertOpen();
    await this.queue.run(spec.uid, async () => {
      const existing = this.supervisors.get(spec.uid);
      if (existing && existing.templateHash === spec.templateHash) return;
      if (existing) {
        await existing.stop();
        this.supervisors.delete(spec.uid);
        this.forget(spec.uid);
      }
      if (this.closed) return;
      await this.supervise(spec, this.driverFor(spec)).start();
    });
  }

  /** Stops the instance's run (grace, then kill) and forgets it; no change is emitted: it simply leaves list(). */
  async stop(uid: string, options: StopOptions = {}): Promise<void> {
    this.assertOpen();
    await this.queue.run(uid, async () => {
      const supervisor = this.supervisors.get(uid);
      if (!supervisor) return;
      await supervisor.stop();
      this.supervisors.delete(uid);
      this.changes.forget(uid);
      this.forget(uid);
      await this.removed(supervisor.spec, options);
    });
  }

  list(): ObservedInstance[] {
    return [...this.supervisors.values()].map((supervisor) => supervisor.snapshot());
  }

  specOf(uid: string): DeploySpec | undefined {
    return this.supervisors.get(uid)?.spec;
  }

  onChange(listener: (instance: ObservedInstance) => void): () => void {
    return this.changes.subscribe(listener);
  }

  /** Stops supervising; every run keeps running for the next agent to adopt. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const supervisor of this.supervisors.values()) supervisor.close();
    await this.queue.settled();
    this.changes.clear();
  }

  /** Whether another instance of the spec's workload still runs here (its volumes are in use). */
  protected runsWorkload(spec: DeploySpec): boolean {
    return [...this.supervisors.values()].some((s) => s.spec.namespace === spec.namespace && s.spec.workload === spec.workload);
  }

  protected supervisorOf(uid: string): RunSupervisor<H> {
    const supervisor = this.supervisors.get(uid);
    if (!supervisor) throw new Error(`unknown instance ${uid}`);
    return supervisor;
  }

  /** A supervisor for the instance, registered (not started: start or adopt it). */
  protected supervise(spec: DeploySpec, driver: RunDriver<H>): RunSupervisor<H> {
    const { supervision } = this;
    const supervisor: RunSupervisor<H> = new RunSupervisor({
      spec,
      driver,
      clock: this.clock,
      backoff: supervision.backoff ?? {},
      advertiseAddress: this.advertiseAddress,
      healthTimeoutMs: supervision.healthTimeoutMs ?? 5_000,
      msPerSecond: 1000 * (supervision.healthIntervalScale ?? 1),
      onChange: () => {
        if (!this.closed && this.supervisors.get(spec.uid) === supervisor) this.changes.emit(supervisor.snapshot());
      },
    });
    this.supervisors.set(spec.uid, supervisor);
    return supervisor;
  }

  protected get advertiseAddress(): string {
    return this.supervision.advertiseAddress ?? '127.0.0.1';
  }

  protected get stopGraceMs(): number {
    return this.supervision.stopGraceMs ?? 10_000;
  }

  protected assertOpen(): void {
    if (this.closed) throw new Error(`the ${this.name} runtime is closed`);
  }
}
