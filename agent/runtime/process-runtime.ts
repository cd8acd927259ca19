// The process runtime: workloads as plain child processes of the agent's machine, for machines
// without Docker and for tests. Each instance lives in dataDir/instances/<uid>/:
//   state.json    pid + /proc start time + the DeploySpec (mode 0600: env holds secrets)
//   current.log   stdout and stderr of the running process (appended by the process itself)
//   previous.log  the run before the last restart
//   work/         the working directory (and HOME) of the process
// and a workload's volumes in dataDir/volumes/<namespace>.<workload>.<volume>/ (process-volumes.ts).
// Processes run detached in their own process group and survive an agent restart: start()
// adopts them again (see run-transitions.ts for the state machine, process-driver.ts for the I/O).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploySpec, InstanceStats, LogOptions, StopOptions } from './types.ts';
import { reclaimVolumes } from './process-volumes.ts';
import { readLogLines } from './log-files.ts';
import { instancePaths, instancesDir, listInstanceUids, readInstanceRecord } from './pid-file.ts';
import { CLOCK_TICKS_PER_SECOND, sampleProcessGroup } from './proc-fs.ts';
import { detectCgroups, type CgroupSupport } from './cgroup-limits.ts';
import { ProcessDriver } from './process-driver.ts';
import { SupervisedRuntime, type SupervisionOptions } from './supervised-runtime.ts';
import type { TrackedProcess } from './tracked-process.ts';

export interface ProcessRuntimeOptions extends SupervisionOptions {
  dataDir: string;
  /** How cpu and memory limits are enforced: by default whatever detectCgroups() finds at /sys/fs/cgroup. */
  cgroups?: CgroupSupport;
  /** How often adopted processes are checked for liveness and followed logs for new lines. Default 500 ms / 200 ms. */
  pollMs?: number;
  logPollMs?: number;
}

/** A CPU figure needs two samples: without a recent one, the second is taken this much later. */
const FIRST_SAMPLE_MS = 500;
const STALE_SAMPLE_MS = 60_000;

export class ProcessRuntime extends SupervisedRuntime<TrackedProcess> {
  readonly name = 'process' as const;
  private readonly cpuSamples = new Map<string, { pid: number; ticks: number; at: number }>();
  readonly cgroups: CgroupSupport;

  constructor(private readonly options: ProcessRuntimeOptions) {
    super(options);
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
          const driver = this.driverFor(record.spec);
          await this.supervise(record.spec, driver).adopt(driver.recover(record));
        }),
      ),
    );
  }

  /** A replacement keeps the old run's logs (as previous.log once the new one starts). */
  override async deploy(spec: DeploySpec): Promise<void> {
    this.assertOpen();
    instancePaths(this.options.dataDir, spec.uid); // validates the uid before anything else
    await super.deploy(spec);
  }

  /** The pid of an instance's running process (for diagnostics and tests). */
  pidOf(uid: string): number | undefined {
    return this.supervisors.get(uid)?.current?.pid;
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
    const pid = this.supervisorOf(uid).current?.pid;
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

  protected driverFor(spec: DeploySpec): ProcessDriver {
    return new ProcessDriver({
      spec,
      paths: instancePaths(this.options.dataDir, spec.uid),
      volumesDir: this.volumesDir,
      cgroups: this.cgroups,
      stopGraceMs: this.stopGraceMs,
      pollMs: this.options.pollMs ?? 500,
      clock: this.clock,
    });
  }

  /** The instance directory goes (logs, state), and, for a deleted workload, the volumes it wants gone once it has no instance here. */
  protected async removed(spec: DeploySpec, options: StopOptions): Promise<void> {
    rmSync(instancePaths(this.options.dataDir, spec.uid).dir, { recursive: true, force: true });
    if (options.reclaimVolumes && !this.runsWorkload(spec)) reclaimVolumes(this.volumesDir, spec);
  }

  protected override forget(uid: string): void {
    this.cpuSamples.delete(uid);
  }

  private get volumesDir(): string {
    return join(this.options.dataDir, 'volumes');
  }
}
