// Supervises one instance, in either runtime: starts it, adopts what an earlier agent left, runs
// its health check, restarts it by its restart policy with crash-loop back-off, and stops it. What
// changes its state is decided by runTransition (run-transitions.ts); this class feeds it events
// and performs the effects it returns through a RunDriver, the runtime's own I/O (process-driver.ts,
// docker/docker-driver.ts). Time comes from the injected Clock, so tests drive it.
import type { Clock } from '../../schemas/clock.ts';
import type { Condition } from '../../schemas/types.gen.ts';
import { crashLoopPolicy, type BackoffOptions } from './backoff.ts';
import { HealthMonitor, type ProbeContext } from './health-check.ts';
import type { HostPorts } from './host-ports.ts';
import { observe } from './restart-policy.ts';
import { initialRun, runTransition, type Run, type RunEffect, type RunEvent, type RunRules } from './run-transitions.ts';
import type { DeploySpec, InstanceState, ObservedInstance } from './types.ts';

export interface RunExit {
  code: number | undefined;
  /** "exit code 1, out of memory (limit 64Mi)": the exit as the runtime knows it. */
  how: string;
  /** When it ended, if not just now (an exit that happened while no agent watched). */
  endedAtMs?: number;
}

/** undefined: the supervisor was stopped or closed meanwhile and the driver gave up. */
export type LaunchResult<H> = { ok: true; handle: H; startedAtMs?: number } | { ok: false; reason: string; retry: boolean } | undefined;

export interface LaunchContext {
  restarts: number;
  /** Progress before the run starts (an image pull). */
  progress(message: string): void;
  halted(): boolean;
}

/** What an earlier agent left of the instance. */
export interface Recovery<H> {
  run: Partial<Run>;
  /** Its run still runs: watched as it is, not restarted. */
  running?: { handle: H; state?: InstanceState; health?: ObservedInstance['health'] };
  /** Its run ended while no agent watched: handled like any exit. */
  ended?: RunExit;
}

/** One runtime's I/O for one instance; H is its handle on a run (a process, a container). */
export interface RunDriver<H> {
  readonly rules: Pick<RunRules, 'what' | 'unhealthyEnd' | 'countsEveryAttempt'>;
  launch(context: LaunchContext): Promise<LaunchResult<H>>;
  /** Resolves when the run ended, or with undefined once released. */
  exited(handle: H): Promise<RunExit | undefined>;
  /** Ends the run gracefully (then forcibly after the grace period). */
  terminate(handle: H): Promise<void>;
  /** Where the health check probes the run (ports, env, an exec inside it). */
  probeContext(handle: H): Omit<ProbeContext, 'timeoutMs'>;
  persist(run: Run, handle: H | undefined): void;
  /** Stops watching the run; it keeps running. */
  release(handle: H): void;
  /** Stops for good: ends the run, if any, and removes what the instance had. */
  remove(handle: H | undefined): Promise<void>;
  hostPorts(): HostPorts;
  conditions(): Condition[];
}

export interface RunSupervisorOptions<H> {
  spec: DeploySpec;
  driver: RunDriver<H>;
  clock: Clock;
  backoff: BackoffOptions;
  advertiseAddress: string;
  healthTimeoutMs: number;
  /** ms per second of healthCheck.intervalSeconds. */
  msPerSecond: number;
  onChange: () => void;
}

export class RunSupervisor<H> {
  readonly spec: DeploySpec;
  private run = initialRun();
  private handle: H | undefined;
  private monitor: HealthMonitor | undefined;
  private restartTimer: unknown;
  private launching: Promise<void> = Promise.resolve();
  private stopping = false;
  private closed = false;
  private readonly rules: RunRules;
  private readonly driver: RunDriver<H>;

  constructor(private readonly options: RunSupervisorOptions<H>) {
    this.spec = options.spec;
    this.driver = options.driver;
    const policy = options.spec.template.restartPolicy ?? 'Always';
    this.rules = { ...options.driver.rules, policy, probed: options.spec.template.healthCheck !== undefined, backoff: crashLoopPolicy(options.backoff) };
  }

  get templateHash(): string {
    return this.spec.templateHash;
  }

  /** The current run's process (container) while it runs. */
  get current(): H | undefined {
    return this.handle;
  }

  get restarts(): number {
    return this.run.restarts;
  }

  snapshot(): ObservedInstance {
    return observe(this.spec, { ...this.run, hostPorts: this.driver.hostPorts(), conditions: this.driver.conditions() }, this.options.advertiseAddress);
  }

  /** Starts the first run; resolves once it started (or failed to). */
  start(): Promise<void> {
    this.launching = this.launch();
    return this.launching;
  }

  /** Takes over what an earlier agent left: watches its run, or applies the restart policy. */
  async adopt(recovery: Recovery<H>): Promise<void> {
    this.run = { ...this.run, ...recovery.run };
    if (recovery.running) {
      this.handle = recovery.running.handle;
      const { state, health } = recovery.running;
      this.dispatch({ type: 'adopted', ...(state && health ? { state, health } : {}) });
    } else if (this.run.finished) this.emit();
    else if (recovery.ended) this.dispatch({ type: 'exited', ...recovery.ended });
    // It was backing off (or never started): start it now.
    else this.dispatch({ type: 'restartDue' });
    await this.launching;
  }

  /** Stops for good: the run ends (grace, then kill) and the driver removes what is left. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    await this.launching;
    await this.driver.remove(this.handle);
  }

  /** Stops supervising; the run keeps running for the next agent to adopt. */
  close(): void {
    this.closed = true;
    this.clearTimers();
    if (this.handle !== undefined) this.driver.release(this.handle);
  }

  private get halted(): boolean {
    return this.stopping || this.closed;
  }

  private clearTimers(): void {
    if (this.restartTimer !== undefined) this.options.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.stopProbing();
  }

  private stopProbing(): void {
    this.monitor?.stop();
    this.monitor = undefined;
  }

  private dispatch(event: RunEvent): void {
    const { run, effects } = runTransition(this.rules, this.run, event, this.options.clock.now());
    this.run = run;
    for (const effect of effects) this.perform(effect);
  }

  private perform(effect: RunEffect): void {
    switch (effect.type) {
      case 'launch':
        this.launching = this.launch();
        return;
      case 'watch':
        if (!this.halted && this.handle !== undefined) this.watch(this.handle);
        return;
      case 'stopProbing':
        this.stopProbing();
        return;
      case 'terminate':
        if (this.handle !== undefined) void this.driver.terminate(this.handle);
        return;
      case 'scheduleRestart':
        this.scheduleRestart(effect.delayMs);
        return;
      case 'persist':
        // A stopped instance's record goes with its directory.
        if (!this.stopping) this.driver.persist(this.run, this.handle);
        return;
      case 'emit':
        this.emit();
        return;
    }
  }

  private async launch(): Promise<void> {
    if (this.halted) return;
    const result = await this.driver.launch({
      restarts: this.run.restarts,
      progress: (message) => {
        if (!this.halted) this.dispatch({ type: 'preparing', message });
      },
      halted: () => this.halted,
    });
    if (!result) return;
    if (!result.ok) {
      this.handle = undefined;
      this.dispatch({ type: 'launchFailed', reason: result.reason, retry: result.retry });
      return;
    }
    this.handle = result.handle;
    // Recorded even when closed meanwhile, so that the next agent adopts it.
    this.dispatch({ type: 'launched', startedAtMs: result.startedAtMs ?? this.options.clock.now() });
    if (this.closed) this.driver.release(result.handle);
  }

  private watch(handle: H): void {
    void this.driver.exited(handle).then((exit) => {
      if (!exit || this.handle !== handle) return;
      this.handle = undefined;
      if (!this.halted) this.dispatch({ type: 'exited', ...exit });
    });
    const check = this.spec.template.healthCheck;
    if (!check) return;
    const threshold = check.failureThreshold ?? 3;
    this.monitor = new HealthMonitor({
      check,
      context: { ...this.driver.probeContext(handle), timeoutMs: this.options.healthTimeoutMs },
      msPerSecond: this.options.msPerSecond,
      clock: this.options.clock,
      onResult: (health, reason) => {
        if (this.handle !== handle || this.halted) return;
        this.dispatch(health === 'Healthy' ? { type: 'healthy' } : { type: 'unhealthy', reason: reason ?? 'health check failed' });
      },
      onFailure: (reason, consecutive) => {
        if (this.handle === handle) this.dispatch({ type: 'probeFailing', reason, consecutive, threshold });
      },
    });
    this.monitor.start();
  }

  private scheduleRestart(delayMs: number): void {
    if (this.halted) return;
    this.restartTimer = this.options.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.halted) this.dispatch({ type: 'restartDue' });
    }, delayMs);
  }

  private emit(): void {
    if (!this.closed) this.options.onChange();
  }
}
