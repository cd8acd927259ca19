// The docker runtime's runs of one instance (the I/O under RunSupervisor): pulls the image, makes
// the named volumes, runs every run as a new container (the previous one is kept for `logs
// --previous`), waits for its exit (looking again while the engine does not answer), stops it,
// and after an agent restart recovers the newest run's container. The containers' labels are the
// record (container-spec.ts): nothing is written elsewhere.
import type Docker from 'dockerode';
import type { Clock } from '../../../schemas/clock.ts';
import type { Condition } from '../../../schemas/types.gen.ts';
import type { ProbeContext } from '../health-check.ts';
import { onHostPorts, preferContainerPorts, type HostPorts } from '../host-ports.ts';
import type { LaunchContext, LaunchResult, Recovery, RunDriver, RunExit } from '../run-supervisor.ts';
import type { DeploySpec } from '../types.ts';
import { LABEL, createOptions, publishedPorts, type DockerNetwork, type RecoveredRun } from './container-spec.ts';
import { dockerReason, statusCode } from './docker-errors.ts';
import { execInContainer } from './docker-exec.ts';
import { ImagePullError, ensureImage } from './docker-image.ts';
import { ensureVolumes } from './docker-volumes.ts';

export interface DockerDriverOptions {
  docker: Docker;
  spec: DeploySpec;
  network: DockerNetwork;
  publishAddress: string;
  stopGraceMs: number;
  clock: Clock;
  log: (message: string) => void;
}

/** How long to wait before asking an engine that did not answer again. */
const REWATCH_MS = 2_000;

function describe(code: number | undefined, oomKilled: boolean, when?: string): string {
  return `${code === undefined ? 'exit code unknown' : `exit code ${code}`}${oomKilled ? ', OOMKilled: over its memory limit' : ''}${when ? `, ${when}` : ''}`;
}

export class DockerDriver implements RunDriver<Docker.Container> {
  readonly rules = { what: 'container', unhealthyEnd: 'stopped', countsEveryAttempt: false };
  private readonly spec: DeploySpec;
  private readonly docker: Docker;
  private ports: HostPorts = {};
  private waitAbort: AbortController | undefined;

  constructor(private readonly options: DockerDriverOptions) {
    this.spec = options.spec;
    this.docker = options.docker;
  }

  private get name(): string {
    return `${this.spec.namespace}/${this.spec.name}`;
  }

  /** `latest` is the newest run's container: a running one is watched as it is (no restart); an ended one gets the restart policy. */
  recover(latest: Docker.ContainerInspectInfo, recovered: RecoveredRun): Recovery<Docker.Container> {
    this.ports = this.options.network === 'host' ? recovered.hostPorts : publishedPorts(latest.NetworkSettings?.Ports);
    const startedAtMs = Date.parse(latest.State.StartedAt) || this.options.clock.now();
    const run = { restarts: recovered.run, startedAtMs, startedAt: new Date(startedAtMs).toISOString(), launched: true };
    if (latest.State.Running) {
      this.options.log(`${this.name}: adopted running container ${latest.Id.slice(0, 12)}`);
      return { run, running: { handle: this.docker.getContainer(latest.Id) } };
    }
    const endedAtMs = Date.parse(latest.State.FinishedAt) || this.options.clock.now();
    return { run, ended: { code: latest.State.ExitCode, how: describe(latest.State.ExitCode, latest.State.OOMKilled, 'while the agent was not running'), endedAtMs } };
  }

  async launch({ restarts, progress, halted }: LaunchContext): Promise<LaunchResult<Docker.Container>> {
    const image = this.spec.template.image;
    if (!image) return { ok: false, reason: 'the docker runtime needs spec.image (command alone is for the process runtime)', retry: false };
    try {
      const pulled = await ensureImage(this.docker, image, (message) => {
        if (halted()) return;
        this.options.log(`${this.name}: ${message}`);
        progress(message);
      });
      if (pulled === 'pulled') this.options.log(`${this.name}: pulled ${image}`);
    } catch (error) {
      return halted() ? undefined : this.failed(error instanceof ImagePullError ? error.message : `cannot check image ${image}: ${dockerReason(error)}`);
    }
    if (halted()) return undefined;
    try {
      const refusal = await ensureVolumes(this.docker, this.spec);
      if (refusal) return halted() ? undefined : this.failed(refusal);
      this.ports = this.options.network === 'host' ? await preferContainerPorts(this.spec.template.ports) : {};
      const container = await this.createContainer(restarts);
      if (halted()) return undefined;
      await container.start();
      const info = await container.inspect();
      if (this.options.network === 'bridge') this.ports = publishedPorts(info.NetworkSettings.Ports);
      await this.pruneOldRuns(restarts);
      if (halted()) return undefined;
      return { ok: true, handle: container, startedAtMs: Date.parse(info.State.StartedAt) || this.options.clock.now() };
    } catch (error) {
      return halted() ? undefined : this.failed(`cannot start container for ${image}: ${dockerReason(error)}`);
    }
  }

  /** A run could not start (pull, create or start failed): retried with back-off unless restartPolicy is Never. */
  private failed(reason: string): LaunchResult<Docker.Container> {
    this.options.log(`${this.name}: ${reason}`);
    return { ok: false, reason, retry: true };
  }

  /** Creates this run's container; a leftover of this instance's under the same name (a create the agent did not see finish) is replaced. */
  private async createContainer(run: number): Promise<Docker.Container> {
    const options = createOptions(this.spec, { run, network: this.options.network, hostPorts: this.ports, publishAddress: this.options.publishAddress });
    try {
      return await this.docker.createContainer(options);
    } catch (error) {
      if (statusCode(error) !== 409) throw error;
      const leftover = this.docker.getContainer(options.name!);
      const owner = (await leftover.inspect()).Config.Labels?.[LABEL.instance];
      if (owner !== this.spec.uid) throw new Error(`a container named ${options.name} exists and is not this instance's`);
      await leftover.remove({ force: true });
      return this.docker.createContainer(options);
    }
  }

  private async containersOfInstance(): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${this.spec.uid}`] } });
  }

  /** Keeps the current run and the one before it (for logs --previous); older runs go. */
  private async pruneOldRuns(run: number): Promise<void> {
    const old = (await this.containersOfInstance()).filter((c) => Number(c.Labels[LABEL.run]) < run - 1);
    await Promise.all(old.map((c) => this.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }

  async exited(container: Docker.Container): Promise<RunExit | undefined> {
    const abort = new AbortController();
    this.waitAbort = abort;
    for (;;) {
      const result = await container.wait({ abortSignal: abort.signal }).then(
        (r: { StatusCode: number }) => r,
        () => undefined,
      );
      if (abort.signal.aborted) return undefined;
      if (result) {
        const oomKilled = await container.inspect().then((info) => info.State.OOMKilled, () => false);
        return { code: result.StatusCode, how: describe(result.StatusCode, oomKilled) };
      }
      // The engine went away (restart, socket hiccup): look again shortly, until it answers.
      const ended = await this.lookAgain(container, abort.signal);
      if (ended !== 'running') return ended;
    }
  }

  private async lookAgain(container: Docker.Container, signal: AbortSignal): Promise<RunExit | 'running' | undefined> {
    for (;;) {
      await new Promise((resolve) => this.options.clock.setTimeout(() => resolve(undefined), REWATCH_MS));
      if (signal.aborted) return undefined;
      try {
        const info = await container.inspect();
        return info.State.Running ? 'running' : { code: info.State.ExitCode, how: describe(info.State.ExitCode, info.State.OOMKilled) };
      } catch (error) {
        if (statusCode(error) === 404) return { code: undefined, how: describe(undefined, false, 'its container was removed') };
      }
    }
  }

  /** SIGTERM, SIGKILL after the grace period (docker stop). */
  async terminate(container: Docker.Container): Promise<void> {
    await container.stop({ t: Math.ceil(this.options.stopGraceMs / 1000) }).catch(() => undefined);
  }

  probeContext(container: Docker.Container): Omit<ProbeContext, 'timeoutMs'> {
    return {
      ports: onHostPorts(this.spec.template.ports, this.ports),
      env: {},
      cwd: '/',
      exec: (command, timeoutMs) => execInContainer(container, command, timeoutMs),
    };
  }

  /** The containers' labels are the record. */
  persist(): void {}

  release(): void {
    this.waitAbort?.abort();
    this.waitAbort = undefined;
  }

  /** The running container gets a graceful stop (SIGTERM, SIGKILL after the grace), then every run is removed. */
  async remove(): Promise<void> {
    this.release();
    const containers = await this.containersOfInstance();
    await Promise.all(
      containers.map(async (info) => {
        const container = this.docker.getContainer(info.Id);
        if (info.State === 'running') await this.terminate(container);
        await container.remove({ force: true, v: false }).catch((error: unknown) => {
          if (statusCode(error) !== 404) throw error;
        });
      }),
    );
  }

  hostPorts(): HostPorts {
    return this.ports;
  }

  /** Docker enforces the limits itself: no condition to report. */
  conditions(): Condition[] {
    return [];
  }
}
