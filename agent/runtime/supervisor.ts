// Supervises one process instance: starts it, applies the restart policy with crash-loop backoff
// when it ends, runs its health check, and records everything in state.json so that a restarted
// agent adopts the process (or starts it again).
//
// States:
//   Starting  the process runs; its health check has not passed yet (health Unknown, or Unhealthy
//             with restartPolicy Never).
//   Running   the process runs and its health check passed (health Healthy; it stays Running when
//             it turns Unhealthy under restartPolicy Never). Without a health check, a live
//             process is Running and Healthy at once.
//   Failed    it could not start (command not found…), or it ended and will be restarted after a
//             back-off (message "back-off 10s restarting failed process (exit code 1)", like
//             Kubernetes' CrashLoopBackOff), or it failed and the policy says not to restart.
//   Exited    it ended with exit code 0 and the policy says not to restart.
// Unhealthy acts as a liveness probe: failureThreshold consecutive failures kill the process
// (SIGTERM to its group, SIGKILL after the grace period) and it counts as a failed run, restarted
// with back-off unless restartPolicy is Never.
import { rmSync } from 'node:fs';
import type { Condition } from '../../schemas/types.gen.ts';
import type { DeploySpec, InstanceState, ObservedInstance } from './types.ts';
import { CrashLoopBackoff } from './backoff.ts';
import { applyLimits, withinGroups, type CgroupSupport } from './cgroup-limits.ts';
import type { BackoffOptions } from './backoff.ts';
import { allocateHostPorts, onHostPorts, portEnv, type HostPorts } from './host-ports.ts';
import { HealthMonitor } from './health-check.ts';
import { rotateLog } from './log-files.ts';
import { afterExit, afterStartFailure, observe, type Outcome } from './restart-policy.ts';
import { ensureInstanceDirs, writeInstanceRecord } from './pid-file.ts';
import { processVolumes, processWorkingDir } from './process-volumes.ts';
import type { InstancePaths, InstanceRecord } from './pid-file.ts';
import { isProcessAlive } from './proc-fs.ts';
import { adoptProcess, describeExit, exitCodeOf, processEnv, signalProcessGroup, spawnTracked } from './tracked-process.ts';
import type { ExitInfo, TrackedProcess } from './tracked-process.ts';

export interface SupervisorOptions {
  spec: DeploySpec;
  paths: InstancePaths;
  /** Where the workload's volumes live (process-volumes.ts). */
  volumesDir: string;
  /** How the spec's cpu and memory limits are enforced, if they can be (cgroup-limits.ts). */
  cgroups: CgroupSupport;
  advertiseAddress: string;
  stopGraceMs: number;
  backoff: BackoffOptions;
  now: () => number;
  healthTimeoutMs: number;
  /** ms per second of healthCheck.intervalSeconds. */
  msPerSecond: number;
  /** How often an adopted process is checked for liveness. */
  pollMs: number;
  onChange: () => void;
}

type Health = ObservedInstance['health'];

/** How long to wait for the exit after the final SIGKILL before giving up on a process. */
const KILL_WAIT_MS = 5_000;

function within<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export class Supervisor {
  readonly spec: DeploySpec;
  private state: InstanceState = 'Starting';
  private health: Health = 'Unknown';
  private restarts = 0;
  private exitCode: number | undefined;
  private startedAt: string | undefined;
  /** Host ports of the current run (see host-ports.ts). */
  private hostPorts: HostPorts = {};
  private startedAtMs = 0;
  private message: string | undefined;
  private finished = false;
  private proc: TrackedProcess | undefined;
  private monitor: HealthMonitor | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private launching: Promise<void> = Promise.resolve();
  private unhealthyReason: string | undefined;
  private stopping = false;
  private closed = false;
  private limitsCondition: Condition | undefined;
  /** The group's OOM kills when the current run started: one more at its exit means memory killed it. */
  private oomKillsAtStart = 0;
  private readonly backoff: CrashLoopBackoff;

  constructor(private readonly options: SupervisorOptions) {
    this.spec = options.spec;
    this.backoff = new CrashLoopBackoff(options.backoff);
  }

  get templateHash(): string {
    return this.spec.templateHash;
  }

  /** The pid of the running process, if one runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Endpoints are listed only while the instance is ready (Running and Healthy), like a Service's endpoints. */
  snapshot(): ObservedInstance {
    const { state, health, restarts, exitCode, startedAt, message, hostPorts } = this;
    const conditions = this.limitsCondition ? [this.limitsCondition] : [];
    return observe(this.spec, { state, health, restarts, exitCode, startedAt, message, hostPorts, conditions }, this.options.advertiseAddress);
  }

  /** Starts the first run; resolves once the process was spawned (or failed to). */
  start(): Promise<void> {
    this.launching = this.launch();
    return this.launching;
  }

  /** Takes over an instance recorded by an earlier agent: adopts its process, or runs it again. */
  async adopt(record: InstanceRecord): Promise<void> {
    this.restarts = record.restarts;
    this.startedAt = record.startedAt;
    this.startedAtMs = record.startedAt ? Date.parse(record.startedAt) : this.options.now();
    this.exitCode = record.exitCode;
    this.message = record.message;
    this.state = record.state;
    this.health = record.health;
    this.hostPorts = record.hostPorts ?? {};
    if (record.pid !== undefined && isProcessAlive(record.pid, record.processStartTime)) {
      // Its process joined the group when it started; this restores the condition that says so.
      this.setLimits(applyLimits(this.options.cgroups, this.spec.uid, this.spec.template.resources).condition);
      this.oomKillsAtStart = this.oomKills();
      this.proc = adoptProcess(record.pid, record.processStartTime, this.options.pollMs);
      this.watch(this.proc);
      this.persist();
      this.emit();
      return;
    }
    if (record.finished) {
      this.finished = true;
      this.emit();
      return;
    }
    if (record.pid !== undefined) {
      // It ended while no agent watched it: a run that ended with an unknown exit code.
      this.onExit(undefined, { code: null, signal: null }, 'while the agent was not running');
      return;
    }
    // It was backing off (or never started): start it now.
    this.restarts += 1;
    await this.start();
  }

  /** Stops for good: SIGTERM to the process group, SIGKILL after the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    await this.launching;
    const proc = this.proc;
    if (proc) await this.terminate(proc);
    proc?.dispose();
    if ('driver' in this.options.cgroups) await this.options.cgroups.driver.remove(this.spec.uid);
  }

  /** Stops supervising; the process keeps running for the next agent to adopt. */
  close(): void {
    this.closed = true;
    this.clearTimers();
    this.proc?.dispose();
  }

  /** Removes the instance directory (logs, state). */
  removeFiles(): void {
    rmSync(this.options.paths.dir, { recursive: true, force: true });
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.monitor?.stop();
    this.monitor = undefined;
  }

  private get policy(): 'Always' | 'OnFailure' | 'Never' {
    return this.spec.template.restartPolicy ?? 'Always';
  }

  private async launch(): Promise<void> {
    if (this.stopping || this.closed) return;
    const command = this.spec.template.command;
    if (!command || command.length === 0) {
      this.finish('Failed', 'the process runtime needs spec.command (image is for the docker runtime)');
      return;
    }
    try {
      await this.launchCommand(command);
    } catch (error) {
      // e.g. the instance directory or log file cannot be created
      this.spawnFailed(command[0], error as NodeJS.ErrnoException);
    }
  }

  private async launchCommand([file, ...leading]: [string, ...string[]]): Promise<void> {
    const { paths } = this.options;
    ensureInstanceDirs(paths);
    rotateLog(paths.currentLog, paths.previousLog);
    this.hostPorts = await allocateHostPorts(this.spec.template.ports);
    const env = this.env();
    const cwd = processWorkingDir(this.options.volumesDir, this.spec, paths.work);
    const limits = applyLimits(this.options.cgroups, this.spec.uid, this.spec.template.resources);
    this.setLimits(limits.condition);
    this.oomKillsAtStart = this.oomKills();
    const command = withinGroups(limits.procs, { file, args: [...leading, ...(this.spec.template.args ?? [])], path: env.PATH ?? '', cwd });
    const result = await spawnTracked({ ...command, env, cwd, logPath: paths.currentLog });
    if (!result.ok) {
      this.spawnFailed(file, result.error);
      return;
    }
    const proc = result.process;
    this.proc = proc;
    this.startedAtMs = this.options.now();
    this.startedAt = new Date(this.startedAtMs).toISOString();
    this.exitCode = undefined;
    this.message = undefined;
    this.unhealthyReason = undefined;
    if (this.spec.template.healthCheck) {
      this.state = 'Starting';
      this.health = 'Unknown';
    } else {
      this.state = 'Running';
      this.health = 'Healthy';
    }
    // Recorded even when closed meanwhile, so that the next agent adopts it.
    this.persist();
    if (this.closed) {
      proc.dispose();
      return;
    }
    this.emit();
    if (!this.stopping) this.watch(proc);
  }

  private watch(proc: TrackedProcess): void {
    void proc.exited.then((exit) => {
      if (this.proc === proc) this.onExit(proc, exit);
    });
    const check = this.spec.template.healthCheck;
    if (!check) return;
    const threshold = check.failureThreshold ?? 3;
    this.monitor = new HealthMonitor({
      check,
      context: {
        ports: onHostPorts(this.spec.template.ports, this.hostPorts),
        env: this.env(),
        cwd: processWorkingDir(this.options.volumesDir, this.spec, this.options.paths.work),
        timeoutMs: this.options.healthTimeoutMs,
      },
      msPerSecond: this.options.msPerSecond,
      onResult: (health, reason) => this.onHealth(proc, health, reason),
      onFailure: (reason, consecutive) => {
        if (this.proc !== proc || this.state !== 'Starting' || this.health === 'Unhealthy') return;
        this.message = `health check failing (${Math.min(consecutive, threshold)}/${threshold}): ${reason}`;
        this.emit();
      },
    });
    this.monitor.start();
  }

  private onHealth(proc: TrackedProcess, health: 'Healthy' | 'Unhealthy', reason: string | undefined): void {
    if (this.proc !== proc || this.stopping || this.closed) return;
    if (health === 'Healthy') {
      this.health = 'Healthy';
      this.state = 'Running';
      this.message = undefined;
    } else {
      this.health = 'Unhealthy';
      if (this.policy === 'Never') {
        this.message = reason;
      } else {
        // Like a liveness probe: kill it; the exit then counts as a failure and is restarted.
        this.unhealthyReason = reason ?? 'health check failed';
        this.message = `${this.unhealthyReason}; restarting`;
        this.monitor?.stop();
        this.monitor = undefined;
        void this.terminate(proc);
      }
    }
    this.persist();
    this.emit();
  }

  private async terminate(proc: TrackedProcess): Promise<void> {
    if (!proc.hasExited()) {
      signalProcessGroup(proc.pid, proc.startTime, 'SIGTERM');
      if (!(await within(proc.exited, this.options.stopGraceMs))) {
        signalProcessGroup(proc.pid, proc.startTime, 'SIGKILL');
        await within(proc.exited, KILL_WAIT_MS);
      }
    }
    // Leftover members of the group (children the process did not take down with it).
    signalProcessGroup(proc.pid, proc.startTime, 'SIGKILL');
  }

  /** The run ended (proc undefined: it ended while no agent watched). Applies the restart policy. */
  private onExit(proc: TrackedProcess | undefined, exit: ExitInfo, when?: string): void {
    this.monitor?.stop();
    this.monitor = undefined;
    if (proc) {
      signalProcessGroup(proc.pid, proc.startTime, 'SIGKILL');
      proc.dispose();
    }
    this.proc = undefined;
    if (this.stopping || this.closed) return;
    const exitCode = exitCodeOf(exit);
    const unhealthy = this.unhealthyReason;
    const failed = unhealthy !== undefined || exitCode !== 0;
    const outOfMemory = this.oomKills() > this.oomKillsAtStart ? `, out of memory (limit ${this.spec.template.resources?.memory})` : '';
    const how = `${describeExit(exit)}${outOfMemory}${when ? `, ${when}` : ''}${unhealthy ? `, killed because unhealthy: ${unhealthy}` : ''}`;
    this.exitCode = exitCode;
    this.health = unhealthy ? 'Unhealthy' : 'Unknown';
    this.apply(afterExit(this.policy, failed, 'process', how, this.backoff, this.options.now() - this.startedAtMs));
  }

  private apply(outcome: Outcome): void {
    if (!outcome.restart) {
      this.finish(outcome.state, outcome.message);
      return;
    }
    this.state = 'Failed';
    this.message = outcome.message;
    this.scheduleRestart(outcome.delayMs);
    this.persist();
    this.emit();
  }

  private spawnFailed(file: string, error: NodeJS.ErrnoException): void {
    const reason =
      error.code === 'ENOENT' ? `command not found: ${file}` : error.code === 'EACCES' ? `permission denied: ${file}` : `cannot start ${file}: ${error.message}`;
    this.proc = undefined;
    this.exitCode = undefined;
    this.health = 'Unknown';
    // Retried with back-off: the command may be installed later.
    this.apply(afterStartFailure(this.policy, reason, this.backoff));
  }

  /** PATH, HOME and the like, the spec's env, the ports' and volumes' variables. */
  private env(): Record<string, string> {
    return { ...processEnv(this.spec.env, this.options.paths.work), ...portEnv(this.spec.template.ports, this.hostPorts), ...processVolumes(this.options.volumesDir, this.spec) };
  }

  /** Keeps the condition's lastTransitionTime while its status stays the same across runs. */
  private setLimits(condition: Condition | undefined): void {
    const previous = this.limitsCondition;
    this.limitsCondition =
      condition && { ...condition, lastTransitionTime: previous?.status === condition.status && previous.lastTransitionTime ? previous.lastTransitionTime : new Date(this.options.now()).toISOString() };
  }

  private oomKills(): number {
    return 'driver' in this.options.cgroups ? this.options.cgroups.driver.oomKills(this.spec.uid) : 0;
  }

  private scheduleRestart(delay: number): void {
    if (this.stopping || this.closed) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping || this.closed) return;
      this.restarts += 1;
      this.launching = this.launch();
    }, delay);
    this.restartTimer.unref();
  }

  private finish(state: 'Exited' | 'Failed', message: string): void {
    this.finished = true;
    this.state = state;
    this.message = message;
    this.persist();
    this.emit();
  }

  private persist(): void {
    if (this.stopping) return;
    const record: InstanceRecord = {
      version: 1,
      spec: this.spec,
      ...(this.proc ? { pid: this.proc.pid } : {}),
      ...(this.proc?.startTime !== undefined ? { processStartTime: this.proc.startTime } : {}),
      templateHash: this.spec.templateHash,
      hostPorts: this.hostPorts,
      restarts: this.restarts,
      ...(this.startedAt !== undefined ? { startedAt: this.startedAt } : {}),
      state: this.state,
      health: this.health,
      ...(this.exitCode !== undefined ? { exitCode: this.exitCode } : {}),
      ...(this.message !== undefined ? { message: this.message } : {}),
      finished: this.finished,
    };
    try {
      ensureInstanceDirs(this.options.paths);
      writeInstanceRecord(this.options.paths, record);
    } catch {
      // Best effort: the next change writes it again.
    }
  }

  private emit(): void {
    if (!this.closed) this.options.onChange();
  }
}
