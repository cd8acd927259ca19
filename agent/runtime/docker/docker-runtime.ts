// The docker runtime: every instance as containers of a Docker engine (dockerode), labelled
// lattice.instance=<uid> so that a restarted agent rediscovers and adopts them (see
// container-spec.ts for the labels and docker-supervisor.ts for one instance's life).
import Docker from 'dockerode';
import type { BackoffOptions } from '../backoff.ts';
import { ChangeFanout, KeyedQueue } from '../runtime-support.ts';
import type { DeploySpec, InstanceStats, LogOptions, ObservedInstance, Runtime, StopOptions } from '../types.ts';
import { LABEL, recoverRun, volumeName, volumeRefusal, type DockerNetwork } from './container-spec.ts';
import { containerLogLines } from './docker-logs.ts';
import { statsFromSample, type DockerStatsSample } from './docker-stats.ts';
import { DockerSupervisor } from './docker-supervisor.ts';

export interface DockerRuntimeOptions {
  /** The engine; by default DOCKER_HOST or /var/run/docker.sock. */
  docker?: Docker;
  /** bridge (ports published by docker) or host (the agent's network). */
  network: DockerNetwork;
  /** The address endpoints are reported with. Default 127.0.0.1. */
  advertiseAddress?: string;
  /** Time between SIGTERM and SIGKILL on stop. Default 10 s. */
  stopGraceMs?: number;
  backoff?: BackoffOptions;
  now?: () => number;
  healthTimeoutMs?: number;
  /** Scales healthCheck.intervalSeconds (tests pass e.g. 0.1). Default 1. */
  healthIntervalScale?: number;
  log?: (message: string) => void;
}

/** Whether the engine answers a ping within timeoutMs. */
export async function dockerAnswers(docker: Docker, timeoutMs = 2_000): Promise<boolean> {
  try {
    await (docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

/** bridge when the engine has its default bridge network, host otherwise (an engine run with --bridge=none). */
export async function defaultNetwork(docker: Docker): Promise<DockerNetwork> {
  try {
    await docker.getNetwork('bridge').inspect();
    return 'bridge';
  } catch {
    return 'host';
  }
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly docker: Docker;
  private readonly supervisors = new Map<string, DockerSupervisor>();
  private readonly changes = new ChangeFanout();
  private readonly queue = new KeyedQueue();
  private closed = false;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.docker = options.docker ?? new Docker();
  }

  /** Creates a runtime and adopts the containers an earlier agent left. */
  static async open(options: DockerRuntimeOptions): Promise<DockerRuntime> {
    const runtime = new DockerRuntime(options);
    await runtime.start();
    return runtime;
  }

  /** Rediscovers every container labelled lattice.instance; the newest run of each instance is adopted. */
  async start(): Promise<void> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [LABEL.instance] } });
    const newest = new Map<string, Docker.ContainerInfo>();
    for (const container of containers) {
      const uid = container.Labels[LABEL.instance]!;
      const seen = newest.get(uid);
      if (!seen || Number(container.Labels[LABEL.run]) > Number(seen.Labels[LABEL.run])) newest.set(uid, container);
    }
    await Promise.all(
      [...newest].map(([uid, container]) =>
        this.queue.run(uid, async () => {
          if (this.supervisors.has(uid)) return;
          const info = await this.docker.getContainer(container.Id).inspect();
          const recovered = recoverRun(info.Config.Labels, info.Config.Env);
          if (!recovered) {
            this.log(`container ${container.Id.slice(0, 12)} has lattice labels but no readable spec; left alone`);
            return;
          }
          const supervisor = this.createSupervisor(recovered.spec);
          this.supervisors.set(uid, supervisor);
          await supervisor.adopt(info, recovered);
        }),
      ),
    );
  }

  async deploy(spec: DeploySpec): Promise<void> {
    this.assertOpen();
    await this.queue.run(spec.uid, async () => {
      const existing = this.supervisors.get(spec.uid);
      if (existing && existing.templateHash === spec.templateHash) return;
      if (existing) {
        await existing.stop();
        this.supervisors.delete(spec.uid);
      }
      if (this.closed) return;
      const supervisor = this.createSupervisor(spec);
      this.supervisors.set(spec.uid, supervisor);
      await supervisor.start();
    });
  }

  /**
   * Stops the container (grace, then kill) and removes every container of the instance. Its named
   * volumes stay, unless the workload is deleted and wants them gone (reclaimPolicy Delete) and
   * none of its instances runs here any more.
   */
  async stop(uid: string, options: StopOptions = {}): Promise<void> {
    this.assertOpen();
    await this.queue.run(uid, async () => {
      const supervisor = this.supervisors.get(uid);
      if (!supervisor) return;
      await supervisor.stop();
      this.supervisors.delete(uid);
      this.changes.forget(uid);
      const { spec } = supervisor;
      if (options.reclaimVolumes && ![...this.supervisors.values()].some((s) => s.spec.namespace === spec.namespace && s.spec.workload === spec.workload)) {
        await this.reclaimVolumes(spec);
      }
    });
  }

  /** Removes the workload's volumes with reclaimPolicy Delete, if they are provably its own. */
  private async reclaimVolumes(spec: DeploySpec): Promise<void> {
    for (const { name, reclaimPolicy } of spec.template.volumes ?? []) {
      if (reclaimPolicy !== 'Delete') continue;
      const volume = this.docker.getVolume(volumeName(spec, name));
      const info = await volume.inspect().catch(() => undefined);
      if (!info || volumeRefusal(spec, name, info.Labels)) continue;
      await volume.remove().catch((error: unknown) => this.log(`volume ${volumeName(spec, name)} not removed: ${(error as Error).message}`));
    }
  }

  list(): ObservedInstance[] {
    return [...this.supervisors.values()].map((s) => s.snapshot());
  }

  specOf(uid: string): DeploySpec | undefined {
    return this.supervisors.get(uid)?.spec;
  }

  onChange(listener: (instance: ObservedInstance) => void): () => void {
    return this.changes.subscribe(listener);
  }

  /** The id of the container of an instance's run: the current one, or the one before it (previous). */
  async containerOf(uid: string, previous = false): Promise<string> {
    const supervisor = this.supervisors.get(uid);
    if (!supervisor) throw new Error(`unknown instance ${uid}`);
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${uid}`] } });
    const byRun = (run: number) => containers.find((c) => Number(c.Labels[LABEL.run]) === run);
    const current = supervisor.currentRun;
    const found = previous ? containers.filter((c) => Number(c.Labels[LABEL.run]) < current).sort((a, b) => Number(b.Labels[LABEL.run]) - Number(a.Labels[LABEL.run]))[0] : byRun(current);
    if (!found) throw new Error(previous ? `instance ${supervisor.spec.name} has no previous run (it has not restarted)` : `instance ${supervisor.spec.name} has no container yet`);
    return found.Id;
  }

  logs(uid: string, options: LogOptions = {}): AsyncIterable<string> {
    const previous = options.previous === true;
    const lines = this.containerOf(uid, previous).then((id) =>
      containerLogLines(this.docker.getContainer(id), {
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        follow: options.follow === true && !previous,
      }),
    );
    lines.catch(() => undefined); // surfaced by next()
    let returned = false;
    const iterator: AsyncIterableIterator<string> = {
      next: async () => (returned ? { value: undefined, done: true } : (await lines).next()),
      return: async () => {
        returned = true;
        await lines.then((l) => l.return?.(), () => undefined);
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** One `docker stats` sample of the running container; zero while none runs. */
  async stats(uid: string): Promise<InstanceStats> {
    const supervisor = this.supervisors.get(uid);
    if (!supervisor) throw new Error(`unknown instance ${uid}`);
    const id = supervisor.runningContainer;
    if (!id) return { cpuCores: 0, memoryBytes: 0 };
    const sample = (await this.docker.getContainer(id).stats({ stream: false })) as unknown as DockerStatsSample;
    return statsFromSample(sample);
  }

  /** Stops supervising; every container keeps running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const supervisor of this.supervisors.values()) supervisor.close();
    await this.queue.settled();
    this.changes.clear();
  }

  private createSupervisor(spec: DeploySpec): DockerSupervisor {
    const advertiseAddress = this.options.advertiseAddress ?? '127.0.0.1';
    const supervisor: DockerSupervisor = new DockerSupervisor({
      docker: this.docker,
      spec,
      network: this.options.network,
      advertiseAddress,
      // A loopback agent publishes on loopback only; any other on every address.
      publishAddress: /^(127\.|::1$|localhost$)/.test(advertiseAddress) ? '127.0.0.1' : '0.0.0.0',
      stopGraceMs: this.options.stopGraceMs ?? 10_000,
      backoff: this.options.backoff ?? {},
      now: this.options.now ?? Date.now,
      healthTimeoutMs: this.options.healthTimeoutMs ?? 5_000,
      msPerSecond: 1000 * (this.options.healthIntervalScale ?? 1),
      onChange: () => {
        if (!this.closed && this.supervisors.get(spec.uid) === supervisor) this.changes.emit(supervisor.snapshot());
      },
      log: (message) => this.log(message),
    });
    return supervisor;
  }

  private log(message: string): void {
    this.options.log?.(`docker: ${message}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the docker runtime is closed');
  }
}
