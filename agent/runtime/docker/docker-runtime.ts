// The docker runtime: every instance as containers of a Docker engine (dockerode), labelled
// lattice.instance=<uid> so that a restarted agent rediscovers and adopts them (see
// container-spec.ts for the labels, run-transitions.ts for one instance's life and
// docker-driver.ts for its containers).
import Docker from 'dockerode';
import { SupervisedRuntime, type SupervisionOptions } from '../supervised-runtime.ts';
import type { DeploySpec, InstanceStats, LogOptions, StopOptions } from '../types.ts';
import { LABEL, recoverRun, type DockerNetwork } from './container-spec.ts';
import { DockerDriver } from './docker-driver.ts';
import { containerLogLines } from './docker-logs.ts';
import { statsFromSample, type DockerStatsSample } from './docker-stats.ts';
import { reclaimVolumes } from './docker-volumes.ts';

export interface DockerRuntimeOptions extends SupervisionOptions {
  /** The engine; by default DOCKER_HOST or /var/run/docker.sock. */
  docker?: Docker;
  /** bridge (ports published by docker) or host (the agent's network). */
  network: DockerNetwork;
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

export class DockerRuntime extends SupervisedRuntime<Docker.Container> {
  readonly name = 'docker' as const;
  readonly docker: Docker;

  constructor(private readonly options: DockerRuntimeOptions) {
    super(options);
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
          const driver = this.driverFor(recovered.spec);
          await this.supervise(recovered.spec, driver).adopt(driver.recover(info, recovered));
        }),
      ),
    );
  }

  /** The id of the container of an instance's run: the current one, or the one before it (previous). */
  async containerOf(uid: string, previous = false): Promise<string> {
    const supervisor = this.supervisorOf(uid);
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${uid}`] } });
    const byRun = (run: number) => containers.find((c) => Number(c.Labels[LABEL.run]) === run);
    const current = supervisor.restarts;
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
    const id = this.supervisorOf(uid).current?.id;
    if (!id) return { cpuCores: 0, memoryBytes: 0 };
    const sample = (await this.docker.getContainer(id).stats({ stream: false })) as unknown as DockerStatsSample;
    return statsFromSample(sample);
  }

  protected driverFor(spec: DeploySpec): DockerDriver {
    return new DockerDriver({
      docker: this.docker,
      spec,
      network: this.options.network,
      // A loopback agent publishes on loopback only; any other on every address.
      publishAddress: /^(127\.|::1$|localhost$)/.test(this.advertiseAddress) ? '127.0.0.1' : '0.0.0.0',
      stopGraceMs: this.stopGraceMs,
      clock: this.clock,
      log: (message) => this.log(message),
    });
  }

  /**
   * Every container of the instance is gone by now. Its named volumes stay, unless the workload is
   * deleted and wants them gone (reclaimPolicy Delete) and none of its instances runs here any more.
   */
  protected async removed(spec: DeploySpec, options: StopOptions): Promise<void> {
    if (options.reclaimVolumes && !this.runsWorkload(spec)) await reclaimVolumes(this.docker, spec, (message) => this.log(message));
  }

  private log(message: string): void {
    this.options.log?.(`docker: ${message}`);
  }
}
