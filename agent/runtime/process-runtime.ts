// The process runtime: workloads as plain child processes of the agent's machine, for machines
// without Docker and for tests. Each instance lives in dataDir/instances/<uid>/:
//   state.json    pid + /proc start time + the DeploySpec (mode 0600: env holds secrets)
//   current.log   stdout and stderr of the running process (appended by the process itself)
//   previous.log  the run before the last restart
//   work/         the working directory (and HOME) of the process
// and a workload's volumes in dataDir/volumes/<namespace>.<workload>.<volume>/ (process-volumes.ts).
// Processes run detached in their own process group and survive an agent restart: start()
// adopts them again (see Supervisor for the state machine and restart policy).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploySpec, InstanceStats, LogOptions, ObservedInstance, Runtime, StopOptions } from './types.ts';
import { reclaimVolumes } from './process-volumes.ts';
import type { BackoffOptions } from './backoff.ts';
import { readLogLines } from './log-files.ts';
import { instancePaths, instancesDir, listInstanceUids, readInstanceRecord } from './pid-file.ts';
import { CLOCK_TICKS_PER_SECOND, sampleProcessGroup } from './proc-fs.ts';
import { ChangeFanout, KeyedQueue } from './runtime-support.ts';
import { detectCgroups, type CgroupSupport } from './cgroup-limits.ts';
import { Supervisor } from './supervisor.ts';

export interface ProcessRuntimeOptions {
  dataDir: string;
  /** The address endpoints are reported with. Default 127.0.0.1. */
  advertiseAddress?: string;
  /** Time between SIGTERM and SIGKILL on stop. Default 10 s. */
  stopGraceMs?: number;
  /** Crash-loop backoff: 10 s doubling to 5 min, reset after a 10 s run, by default. */
  backoff?: BackoffOptions;
  /** The clock for startedAt and run durations. Default Date.now. */
  now?: () => number;
  /** Timeout of one health probe. Default 5 s. */
  healthTimeoutMs?: number;
  /**
   * Scales healthCheck.intervalSeconds: an interval lasts intervalSeconds × 1000 × scale ms.
   * Default 1; tests pass e.g. 0.1 to probe every 100 ms with intervalSeconds 1.
   */
  healthIntervalScale?: number;
  /** How cpu and memory limits are enforced: by default whatever detectCgroups() finds at /sys/fs/cgroup. */
  cgroups?: CgroupSupport;
  /** How often adopted processes are checked for liveness and followed logs for new lines. Default 500 ms / 200 ms. */
  pollMs?: number;
  logPollMs?: number;
}

/** A CPU figure needs two samples: without a recent one, the second is taken this much later. */
const FIRST_SAMPLE_MS = 500;
const STALE_SAMPLE_MS = 60_000;

export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  private readonly supervisors = new Map<string, Supervisor>();
  private readonly changes = new ChangeFanout();
  private readonly queue = new KeyedQueue();
  private readonly cpuSamples = new Map<string, { pid: number; ticks: number; at: number }>();
  private closed = false;
  readonly cgroups: CgroupSupport;

  constructor(private readonly options: ProcessRuntimeOptions) {
    this.cgroups = options.cgroups ?? detectCgroups();
  }

  /** Creates a runtime and adopts the instances an earlier agent left running. */
  static async open(options: ProcessRuntimeOptions): Promise<ProcessRuntime> {
    const runtime = new ProcessRuntime(options);
    await runtime.start();
    return runtime;
  }

  /**
   * Rediscovers every dataDir/instances/<uid>/state.json: a process still alive (same pid, same
   * /proc start time) is adopted as is; one that ended meanwhile is handled like any exit, by its
   * restart policy (its exit code is unknown, so it counts as a failure).
   */
  async start(): Promise<void> {
    this.assertOpen();
    mkdirSync(instancesDir(this.options.dataDir), { recursive: true, mode: 0o700 });
    await Promise.all(
      listInstanceUids(this.options.dataDir).map((uid) =>
        this.queue.run(uid, async () => {
          if (this.supervisors.has(uid)) return;
          const record = readInstanceRecord(instancePaths(this.options.dataDir, uid).state);
          if (!record || record.spec.uid !== uid) return;
          const supervisor = this.createSupervisor(record.spec);
          this.supervisors.set(uid, supervisor);
          await supervisor.adopt(record);
        }),
      ),
    );
  }

  async deploy(spec: DeploySpec): Promise<void> {
    this.assertOpen();
    instancePaths(this.options.dataDir, spec.uid); // validates the uid before anything else
    await this.queue.run(spec.uid, async () => {
      const existing = this.supervisors.get(spec.uid);
      if (existing && existing.templateHash === spec.templateHash) return;
      if (existing) {
        // Replace: the old run's logs stay (as previous.log once the new one starts).
        await existing.stop();
        this.supervisors.delete(spec.uid);
        this.cpuSamples.delete(spec.uid);
      }
      if (this.closed) return;
      const supervisor = this.createSupervisor(spec);
      this.supervisors.set(spec.uid, supervisor);
      await supervisor.start();
    });
  }

  /**
   * SIGTERM to the process group, SIGKILL after stopGraceMs, then the instance directory is removed
   * (and, for a deleted workload, the volumes it wants gone once it has no instance here).
   * No change is emitted: the instance simply leaves list().
   */
  async stop(uid: string, options: StopOptions = {}): Promise<void> {
    this.assertOpen();
    await this.queue.run(uid, async () => {
      const supervisor = this.supervisors.get(uid);
      if (!supervisor) return;
      await supervisor.stop();
      this.supervisors.delete(uid);
      this.changes.forget(uid);
      this.cpuSamples.delete(uid);
      supervisor.removeFiles();
      const { spec } = supervisor;
      if (options.reclaimVolumes && !this.runsWorkload(spec)) reclaimVolumes(this.volumesDir, spec);
    });
  }

  private runsWorkload(spec: DeploySpec): boolean {
    return [...this.supervisors.values()].some((s) => s.spec.namespace === spec.namespace && s.spec.workload === spec.workload);
  }

  private get volumesDir(): string {
    return join(this.options.dataDir, 'volumes');
  }

  list(): ObservedInstance[] {
    return [...this.supervisors.values()].map((supervisor) => supervisor.snapshot());
  }

  onChange(listener: (instance: ObservedInstance) => void): () => void {
    return this.changes.subscribe(listener);
  }

  specOf(uid: string): DeploySpec | undefined {
    return this.supervisors.get(uid)?.spec;
  }

  /** The pid of an instance's running process (for diagnostics and tests). */
  pidOf(uid: string): number | undefined {
    return this.supervisors.get(uid)?.pid;
  }

  logs(uid: string, options: LogOptions = {}): AsyncIterable<string> {
    if (!this.supervisors.has(uid)) {
      return (async function* () {
        throw new Error(`unknown instance ${uid}`);
      })();
    }
    const paths = instancePaths(this.options.dataDir, uid);
    const previous = options.previous === true;
    if (previous && !existsSync(paths.previousLog)) {
      return (async function* () {
        throw new Error(`instance ${uid} has no previous run (it has not restarted)`);
      })();
    }
    return readLogLines(previous ? paths.previousLog : paths.currentLog, {
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      // previous.log does not grow: following it would wait forever.
      follow: options.follow === true && !previous,
      pollMs: this.options.logPollMs ?? 200,
      isLive: () => !this.closed && this.supervisors.has(uid),
    });
  }

  /**
   * CPU (cores used since the previous call for this instance, or over the next
   * FIRST_SAMPLE_MS when there is no recent previous call) and resident memory, summed over the
   * instance's process group. Zero while no process runs.
   */
  async stats(uid: string): Promise<InstanceStats> {
    const supervisor = this.supervisors.get(uid);
    if (!supervisor) throw new Error(`unknown instance ${uid}`);
    const pid = supervisor.pid;
    if (pid === undefined) return { cpuCores: 0, memoryBytes: 0 };
    let last = this.cpuSamples.get(uid);
    if (!last || last.pid !== pid || performance.now() - last.at > STALE_SAMPLE_MS) {
      last = { pid, ticks: sampleProcessGroup(pid).cpuTicks, at: performance.now() };
      await new Promise((resolve) => setTimeout(resolve, FIRST_SAMPLE_MS));
    }
    const sample = sampleProcessGroup(pid);
    const at = performance.now();
    this.cpuSamples.set(uid, { pid, ticks: sample.cpuTicks, at });
    let cpuCores = 0;
    if (at > last.at) {
      const seconds = (at - last.at) / 1000;
      cpuCores = Math.max(0, (sample.cpuTicks - last.ticks) / CLOCK_TICKS_PER_SECOND / seconds);
    }
    return { cpuCores, memoryBytes: sample.memoryBytes };
  }

  /** Stops supervising (timers, health checks, pollers); every process keeps running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const supervisor of this.supervisors.values()) supervisor.close();
    await this.queue.settled();
    this.changes.clear();
  }

  private createSupervisor(spec: DeploySpec): Supervisor {
    const supervisor: Supervisor = new Supervisor({
      spec,
      paths: instancePaths(this.options.dataDir, spec.uid),
      volumesDir: this.volumesDir,
      cgroups: this.cgroups,
      advertiseAddress: this.options.advertiseAddress ?? '127.0.0.1',
      stopGraceMs: this.options.stopGraceMs ?? 10_000,
      backoff: this.options.backoff ?? {},
      now: this.options.now ?? Date.now,
      healthTimeoutMs: this.options.healthTimeoutMs ?? 5_000,
      msPerSecond: 1000 * (this.options.healthIntervalScale ?? 1),
      pollMs: this.options.pollMs ?? 500,
      onChange: () => this.emit(supervisor),
    });
    return supervisor;
  }

  private emit(supervisor: Supervisor): void {
    if (this.closed || this.supervisors.get(supervisor.spec.uid) !== supervisor) return;
    this.changes.emit(supervisor.snapshot());
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the process runtime is closed');
  }
}
