// The process runtime's runs of one instance (the I/O under RunSupervisor): spawns the command in
// its own process group, within the instance's control groups (cgroup-limits.ts) and volumes
// (process-volumes.ts), on host ports of its own; watches it through its exit event, or by polling
// /proc once adopted; signals its group to end it; and records it in state.json so that a
// restarted agent adopts the process (or starts it again).
import type { Clock } from '../../schemas/clock.ts';
import { transitioned } from '../../schemas/conditions.ts';
import type { Condition } from '../../schemas/types.gen.ts';
import { applyLimits, withinGroups, type CgroupSupport } from './cgroup-limits.ts';
import type { ProbeContext } from './health-check.ts';
import { allocateHostPorts, onHostPorts, portEnv, type HostPorts } from './host-ports.ts';
import { rotateLog } from './log-files.ts';
import { ensureInstanceDirs, writeInstanceRecord, type InstancePaths, type InstanceRecord } from './pid-file.ts';
import { isProcessAlive } from './proc-fs.ts';
import { processVolumes, processWorkingDir } from './process-volumes.ts';
import type { LaunchResult, Recovery, RunDriver, RunExit } from './run-supervisor.ts';
import type { Run } from './run-transitions.ts';
import { adoptProcess, describeExit, exitCodeOf, processEnv, signalProcessGroup, spawnTracked, type ExitInfo, type TrackedProcess } from './tracked-process.ts';
import type { DeploySpec } from './types.ts';

export interface ProcessDriverOptions {
  spec: DeploySpec;
  paths: InstancePaths;
  /** Where the workload's volumes live (process-volumes.ts). */
  volumesDir: string;
  /** How the spec's cpu and memory limits are enforced, if they can be (cgroup-limits.ts). */
  cgroups: CgroupSupport;
  stopGraceMs: number;
  /** How often an adopted process is checked for liveness. */
  pollMs: number;
  clock: Clock;
}

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

function spawnFailure(file: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `command not found: ${file}`;
  if (error.code === 'EACCES') return `permission denied: ${file}`;
  return `cannot start ${file}: ${error.message}`;
}

export class ProcessDriver implements RunDriver<TrackedProcess> {
  readonly rules = { what: 'process', unhealthyEnd: 'killed', countsEveryAttempt: true };
  private readonly spec: DeploySpec;
  /** Host ports of the current run (see host-ports.ts). */
  private ports: HostPorts = {};
  private limitsCondition: Condition | undefined;
  /** The group's OOM kills when the current run started: one more at its exit means memory killed it. */
  private oomKillsAtStart = 0;

  constructor(private readonly options: ProcessDriverOptions) {
    this.spec = options.spec;
  }

  /** What an earlier agent recorded: a process still alive (same pid, same start time) is adopted. */
  recover(record: InstanceRecord): Recovery<TrackedProcess> {
    const { restarts, startedAt, exitCode, message, state, health, finished } = record;
    const run = { restarts, startedAt, startedAtMs: startedAt ? Date.parse(startedAt) : this.options.clock.now(), exitCode, message, state, health, finished };
    this.ports = record.hostPorts ?? {};
    if (record.pid !== undefined && isProcessAlive(record.pid, record.processStartTime)) {
      // Its process joined the group when it started; this restores the condition that says so.
      this.limit();
      return { run, running: { handle: adoptProcess(record.pid, record.processStartTime, this.options.pollMs), state, health } };
    }
    // Ended while no agent watched it: a run with an unknown exit code.
    if (record.pid !== undefined) return { run, ended: { code: undefined, how: `${this.describe({ code: null, signal: null })}, while the agent was not running` } };
    return { run };
  }

  async launch(): Promise<LaunchResult<TrackedProcess>> {
    const command = this.spec.template.command;
    if (!command || command.length === 0) return { ok: false, reason: 'the process runtime needs spec.command (image is for the docker runtime)', retry: false };
    try {
      return await this.spawn(command);
    } catch (error) {
      // e.g. the instance directory or log file cannot be created
      return { ok: false, reason: spawnFailure(command[0], error as NodeJS.ErrnoException), retry: true };
    }
  }

  private async spawn([file, ...leading]: [string, ...string[]]): Promise<LaunchResult<TrackedProcess>> {
    const { paths } = this.options;
    ensureInstanceDirs(paths);
    rotateLog(paths.currentLog, paths.previousLog);
    this.ports = await allocateHostPorts(this.spec.template.ports);
    const env = this.env();
    const cwd = this.cwd();
    const procs = this.limit();
    const command = withinGroups(procs, { file, args: [...leading, ...(this.spec.template.args ?? [])], path: env.PATH ?? '', cwd });
    const result = await spawnTracked({ ...command, env, cwd, logPath: paths.currentLog });
    if (!result.ok) return { ok: false, reason: spawnFailure(file, result.error), retry: true };
    return { ok: true, handle: result.process };
  }

  /** Applies the limits (creating the group); returns the cgroup.procs files a new process joins. */
  private limit(): string[] {
    const limits = applyLimits(this.options.cgroups, this.spec.uid, this.spec.template.resources);
    // Its lastTransitionTime stays while its status stays the same across runs.
    const condition = limits.condition;
    this.limitsCondition = condition && transitioned(this.limitsCondition ? [this.limitsCondition] : undefined, condition, new Date(this.options.clock.now()).toISOString());
    this.oomKillsAtStart = this.oomKills();
    return limits.procs;
  }

  async exited(proc: TrackedProcess): Promise<RunExit> {
    const exit = await proc.exited;
    // Leftover members of its group (children it did not take down with it).
    signalProcessGroup(proc.pid, proc.startTime, 'SIGKILL');
    proc.dispose();
    return { code: exitCodeOf(exit), how: this.describe(exit) };
  }

  private describe(exit: ExitInfo): string {
    const outOfMemory = this.oomKills() > this.oomKillsAtStart ? `, out of memory (limit ${this.spec.template.resources?.memory})` : '';
    return `${describeExit(exit)}${outOfMemory}`;
  }

  /** SIGTERM to the process group, SIGKILL after the grace period. */
  async terminate(proc: TrackedProcess): Promise<void> {
    if (!proc.hasExited()) {
      signalProcessGroup(proc.pid, proc.startTime, 'SIGTERM');
      if (!(await within(proc.exited, this.options.stopGraceMs))) {
        signalProcessGroup(proc.pid, proc.startTime, 'SIGKILL');
        await within(proc.exited, KILL_WAIT_MS);
      }
    }
    signalProcessGroup(proc.pid, proc.startTime, 'SIGKILL');
  }

  probeContext(): Omit<ProbeContext, 'timeoutMs'> {
    return { ports: onHostPorts(this.spec.template.ports, this.ports), env: this.env(), cwd: this.cwd() };
  }

  persist(run: Run, proc: TrackedProcess | undefined): void {
    const record: InstanceRecord = {
      version: 1,
      spec: this.spec,
      ...(proc ? { pid: proc.pid } : {}),
      ...(proc?.startTime !== undefined ? { processStartTime: proc.startTime } : {}),
      templateHash: this.spec.templateHash,
      hostPorts: this.ports,
      restarts: run.restarts,
      ...(run.startedAt !== undefined ? { startedAt: run.startedAt } : {}),
      state: run.state,
      health: run.health,
      ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
      ...(run.message !== undefined ? { message: run.message } : {}),
      finished: run.finished,
    };
    try {
      ensureInstanceDirs(this.options.paths);
      writeInstanceRecord(this.options.paths, record);
    } catch {
      // Best effort: the next change writes it again.
    }
  }

  release(proc: TrackedProcess): void {
    proc.dispose();
  }

  async remove(proc: TrackedProcess | undefined): Promise<void> {
    if (proc) {
      await this.terminate(proc);
      proc.dispose();
    }
    if ('driver' in this.options.cgroups) await this.options.cgroups.driver.remove(this.spec.uid);
  }

  hostPorts(): HostPorts {
    return this.ports;
  }

  conditions(): Condition[] {
    return this.limitsCondition ? [this.limitsCondition] : [];
  }

  /** PATH, HOME and the like, the spec's env, the ports' and volumes' variables. */
  private env(): Record<string, string> {
    return { ...processEnv(this.spec.env, this.options.paths.work), ...portEnv(this.spec.template.ports, this.ports), ...processVolumes(this.options.volumesDir, this.spec) };
  }

  private cwd(): string {
    return processWorkingDir(this.options.volumesDir, this.spec, this.options.paths.work);
  }

  private oomKills(): number {
    return 'driver' in this.options.cgroups ? this.options.cgroups.driver.oomKills(this.spec.uid) : 0;
  }
}
