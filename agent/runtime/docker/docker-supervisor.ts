// Supervises one docker instance: pulls its image, runs it as a container, applies the restart
// policy with crash-loop backoff when the container ends (every run is a new container; the
// previous one is kept for `logs --previous`), runs its health check, and after an agent restart
// adopts the running container instead of starting another. States as in the process runtime's
// Supervisor: Starting (pulling, or health check not passed yet), Running, Failed (cannot pull or
// start, or backing off before a restart), Exited.
import type Docker from 'dockerode';
import { CrashLoopBackoff, type BackoffOptions } from '../backoff.ts';
import { HealthMonitor, type ProbeResult } from '../health-check.ts';
import { onHostPorts, preferContainerPorts, type HostPorts } from '../host-ports.ts';
import { afterExit, afterStartFailure, observe, type Outcome } from '../restart-policy.ts';
import type { DeploySpec, InstanceState, ObservedInstance } from '../types.ts';
import { LABEL, createOptions, publishedPorts, volumeLabels, volumeName, volumeRefusal, type DockerNetwork, type RecoveredRun } from './container-spec.ts';
import { ImagePullError, ensureImage } from './docker-image.ts';

export interface DockerSupervisorOptions {
  docker: Docker;
  spec: DeploySpec;
  network: DockerNetwork;
  advertiseAddress: string;
  publishAddress: string;
  stopGraceMs: number;
  backoff: BackoffOptions;
  now: () => number;
  healthTimeoutMs: number;
  msPerSecond: number;
  onChange: () => void;
  log: (message: string) => void;
}

type Health = ObservedInstance['health'];

const REWATCH_MS = 2_000;

function dockerReason(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(error)).replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
}

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Runs command inside the container; exit 0 is healthy. */
export async function execInContainer(container: Docker.Container, command: string[], timeoutMs: number): Promise<ProbeResult> {
  const what = `exec ${command[0] ?? ''}`;
  try {
    const exec = await container.exec({ Cmd: command, AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode === 0 ? { ok: true } : { ok: false, reason: `${what} exited with code ${info.ExitCode}` };
      if (Date.now() > deadline) return { ok: false, reason: `${what} timed out after ${timeoutMs} ms` };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    return { ok: false, reason: `${what}: ${dockerReason(error)}` };
  }
}

export class DockerSupervisor {
  readonly spec: DeploySpec;
  private state: InstanceState = 'Starting';
  private health: Health = 'Unknown';
  /** Run number of the current (or last) container: 0, then +1 per restart. */
  private run = 0;
  private exitCode: number | undefined;
  private startedAt: string | undefined;
  private startedAtMs = 0;
  private message: string | undefined;
  private hostPorts: HostPorts = {};
  private containerId: string | undefined;
  private waitAbort: AbortController | undefined;
  private monitor: HealthMonitor | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private launching: Promise<void> = Promise.resolve();
  private unhealthyReason: string | undefined;
  private stopping = false;
  private closed = false;
  private readonly backoff: CrashLoopBackoff;

  constructor(private readonly options: DockerSupervisorOptions) {
    this.spec = options.spec;
    this.backoff = new CrashLoopBackoff(options.backoff);
  }

  get templateHash(): string {
    return this.spec.templateHash;
  }

  get currentRun(): number {
    return this.run;
  }

  /** The container of the current run while it runs. */
  get runningContainer(): string | undefined {
    return this.state === 'Starting' || this.state === 'Running' ? this.containerId : undefined;
  }

  snapshot(): ObservedInstance {
    const { state, health, run: restarts, exitCode, startedAt, message, hostPorts } = this;
    return observe(this.spec, { state, health, restarts, exitCode, startedAt, message, hostPorts }, this.options.advertiseAddress);
  }

  start(): Promise<void> {
    this.launching = this.launch();
    return this.launching;
  }

  /**
   * Takes over what an earlier agent left: `latest` is the newest run's container. A running one
   * is watched as it is (same container, no restart); an ended one gets the restart policy.
   */
  async adopt(latest: Docker.ContainerInspectInfo, recovered: RecoveredRun): Promise<void> {
    this.run = recovered.run;
    this.containerId = latest.Id;
    this.hostPorts = this.options.network === 'host' ? recovered.hostPorts : publishedPorts(latest.NetworkSettings?.Ports);
    this.startedAtMs = Date.parse(latest.State.StartedAt) || this.options.now();
    this.startedAt = new Date(this.startedAtMs).toISOString();
    if (latest.State.Running) {
      this.setStarted();
      this.options.log(`${this.name}: adopted running container ${latest.Id.slice(0, 12)}`);
      this.emit();
      this.watch(this.options.docker.getContainer(latest.Id));
      return;
    }
    await this.onExit(latest.Id, latest.State.ExitCode, latest.State.OOMKilled, 'while the agent was not running', Date.parse(latest.State.FinishedAt) || this.options.now());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimers();
    await this.launching;
    await this.removeContainers(true);
  }

  /** Stops supervising; the container keeps running for the next agent to adopt. */
  close(): void {
    this.closed = true;
    this.clearTimers();
  }

  private get name(): string {
    return `${this.spec.namespace}/${this.spec.name}`;
  }

  private get policy(): 'Always' | 'OnFailure' | 'Never' {
    return this.spec.template.restartPolicy ?? 'Always';
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.monitor?.stop();
    this.monitor = undefined;
    this.waitAbort?.abort();
    this.waitAbort = undefined;
  }

  private get halted(): boolean {
    return this.stopping || this.closed;
  }

  private async launch(): Promise<void> {
    if (this.halted) return;
    const image = this.spec.template.image;
    if (!image) {
      this.finish('Failed', 'the docker runtime needs spec.image (command alone is for the process runtime)');
      return;
    }
    const { docker } = this.options;
    try {
      const pulled = await ensureImage(docker, image, (progress) => {
        if (this.halted) return;
        this.state = 'Starting';
        this.message = progress;
        this.options.log(`${this.name}: ${progress}`);
        this.emit();
      });
      if (pulled === 'pulled') this.options.log(`${this.name}: pulled ${image}`);
    } catch (error) {
      if (this.halted) return;
      this.runFailed(error instanceof ImagePullError ? error.message : `cannot check image ${image}: ${dockerReason(error)}`);
      return;
    }
    if (this.halted) return;
    try {
      const refusal = await this.ensureVolumes();
      if (refusal) {
        if (!this.halted) this.runFailed(refusal);
        return;
      }
      this.hostPorts = this.options.network === 'host' ? await preferContainerPorts(this.spec.template.ports) : {};
      const container = await this.createContainer();
      if (this.halted) return;
      await container.start();
      const info = await container.inspect();
      this.containerId = info.Id;
      if (this.options.network === 'bridge') this.hostPorts = publishedPorts(info.NetworkSettings.Ports);
      this.startedAtMs = Date.parse(info.State.StartedAt) || this.options.now();
      this.startedAt = new Date(this.startedAtMs).toISOString();
      this.exitCode = undefined;
      this.message = undefined;
      this.unhealthyReason = undefined;
      this.setStarted();
      await this.pruneOldRuns();
      if (this.halted) return;
      this.emit();
      this.watch(container);
    } catch (error) {
      if (this.halted) return;
      this.runFailed(`cannot start container for ${image}: ${dockerReason(error)}`);
    }
  }

  private setStarted(): void {
    if (this.spec.template.healthCheck) {
      this.state = 'Starting';
      this.health = 'Unknown';
    } else {
      this.state = 'Running';
      this.health = 'Healthy';
    }
  }

  /**
   * Creates the workload's named volumes with their ownership labels, or checks the labels of
   * those that exist. The reason when one is not provably this workload's (it is then not mounted).
   */
  private async ensureVolumes(): Promise<string | undefined> {
    for (const { name } of this.spec.template.volumes ?? []) {
      const volume = volumeName(this.spec, name);
      const existing = await this.options.docker
        .getVolume(volume)
        .inspect()
        .catch((error: unknown) => {
          if (statusCode(error) === 404) return undefined;
          throw error;
        });
      if (existing) {
        const refusal = volumeRefusal(this.spec, name, existing.Labels);
        if (refusal) return refusal;
        continue;
      }
      await this.options.docker.createVolume({ Name: volume, Labels: volumeLabels(this.spec, name) });
    }
    return undefined;
  }

  /** Creates this run's container; a leftover of this instance's under the same name (a create the agent did not see finish) is replaced. */
  private async createContainer(): Promise<Docker.Container> {
    const options = createOptions(this.spec, { run: this.run, network: this.options.network, hostPorts: this.hostPorts, publishAddress: this.options.publishAddress });
    try {
      return await this.options.docker.createContainer(options);
    } catch (error) {
      if (statusCode(error) !== 409) throw error;
      const leftover = this.options.docker.getContainer(options.name!);
      const owner = (await leftover.inspect()).Config.Labels?.[LABEL.instance];
      if (owner !== this.spec.uid) throw new Error(`a container named ${options.name} exists and is not this instance's`);
      await leftover.remove({ force: true });
      return this.options.docker.createContainer(options);
    }
  }

  private async containersOfInstance(): Promise<Docker.ContainerInfo[]> {
    return this.options.docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${this.spec.uid}`] } });
  }

  /** Keeps the current run and the one before it (for logs --previous); older runs go. */
  private async pruneOldRuns(): Promise<void> {
    const old = (await this.containersOfInstance()).filter((c) => Number(c.Labels[LABEL.run]) < this.run - 1);
    await Promise.all(old.map((c) => this.options.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }

  /** The running container gets a graceful stop (SIGTERM, SIGKILL after the grace), then every run is removed. */
  private async removeContainers(graceful: boolean): Promise<void> {
    const { docker } = this.options;
    const containers = await this.containersOfInstance();
    await Promise.all(
      containers.map(async (info) => {
        const container = docker.getContainer(info.Id);
        if (graceful && info.State === 'running') await container.stop({ t: Math.ceil(this.options.stopGraceMs / 1000) }).catch(() => undefined);
        await container.remove({ force: true, v: false }).catch((error: unknown) => {
          if (statusCode(error) !== 404) throw error;
        });
      }),
    );
  }

  private watch(container: Docker.Container): void {
    const abort = new AbortController();
    this.waitAbort = abort;
    const id = container.id;
    container.wait({ abortSignal: abort.signal }).then(
      (result: { StatusCode: number }) => {
        if (abort.signal.aborted || this.containerId !== id) return;
        void container
          .inspect()
          .then((info) => info.State.OOMKilled, () => false)
          .then((oom) => this.onExit(id, result.StatusCode, oom));
      },
      () => {
        // The engine went away (restart, socket hiccup): look again shortly.
        if (abort.signal.aborted || this.halted) return;
        setTimeout(() => void this.rewatch(container), REWATCH_MS).unref();
      },
    );
    const check = this.spec.template.healthCheck;
    if (!check) return;
    const threshold = check.failureThreshold ?? 3;
    this.monitor = new HealthMonitor({
      check,
      context: {
        ports: onHostPorts(this.spec.template.ports, this.hostPorts),
        env: {},
        cwd: '/',
        timeoutMs: this.options.healthTimeoutMs,
        exec: (command, timeoutMs) => execInContainer(container, command, timeoutMs),
      },
      msPerSecond: this.options.msPerSecond,
      onResult: (health, reason) => this.onHealth(id, health, reason),
      onFailure: (reason, consecutive) => {
        if (this.containerId !== id || this.state !== 'Starting' || this.health === 'Unhealthy') return;
        this.message = `health check failing (${Math.min(consecutive, threshold)}/${threshold}): ${reason}`;
        this.emit();
      },
    });
    this.monitor.start();
  }

  private async rewatch(container: Docker.Container): Promise<void> {
    if (this.halted || this.containerId !== container.id) return;
    try {
      const info = await container.inspect();
      if (info.State.Running) {
        this.monitor?.stop();
        this.watch(container);
      } else await this.onExit(container.id, info.State.ExitCode, info.State.OOMKilled);
    } catch (error) {
      if (statusCode(error) === 404) await this.onExit(container.id, undefined, false, 'its container was removed');
      else setTimeout(() => void this.rewatch(container), REWATCH_MS).unref();
    }
  }

  private onHealth(id: string, health: 'Healthy' | 'Unhealthy', reason: string | undefined): void {
    if (this.containerId !== id || this.halted) return;
    if (health === 'Healthy') {
      this.health = 'Healthy';
      this.state = 'Running';
      this.message = undefined;
    } else {
      this.health = 'Unhealthy';
      if (this.policy === 'Never') this.message = reason;
      else {
        // Like a liveness probe: stop it; the exit then counts as a failure and is restarted.
        this.unhealthyReason = reason ?? 'health check failed';
        this.message = `${this.unhealthyReason}; restarting`;
        this.monitor?.stop();
        this.monitor = undefined;
        void this.options.docker
          .getContainer(id)
          .stop({ t: Math.ceil(this.options.stopGraceMs / 1000) })
          .catch(() => undefined);
      }
    }
    this.emit();
  }

  /** A run ended. Applies the restart policy. */
  private async onExit(id: string, code: number | undefined, oomKilled: boolean, when?: string, endedAtMs = this.options.now()): Promise<void> {
    if (this.halted || this.containerId !== id) return;
    this.monitor?.stop();
    this.monitor = undefined;
    this.waitAbort = undefined;
    const unhealthy = this.unhealthyReason;
    const failed = unhealthy !== undefined || code !== 0;
    const how = `${code === undefined ? 'exit code unknown' : `exit code ${code}`}${oomKilled ? ', OOMKilled: over its memory limit' : ''}${when ? `, ${when}` : ''}${unhealthy ? `, stopped because unhealthy: ${unhealthy}` : ''}`;
    this.exitCode = code;
    this.health = unhealthy ? 'Unhealthy' : 'Unknown';
    this.unhealthyReason = undefined;
    this.apply(afterExit(this.policy, failed, 'container', how, this.backoff, endedAtMs - this.startedAtMs));
  }

  private apply(outcome: Outcome): void {
    if (!outcome.restart) {
      this.finish(outcome.state, outcome.message);
      return;
    }
    this.state = 'Failed';
    this.message = outcome.message;
    this.scheduleRestart(outcome.delayMs);
    this.emit();
  }

  /** A run could not start (pull, create or start failed): retried with back-off unless restartPolicy is Never. */
  private runFailed(reason: string): void {
    this.options.log(`${this.name}: ${reason}`);
    this.health = 'Unknown';
    this.apply(afterStartFailure(this.policy, reason, this.backoff));
  }

  private scheduleRestart(delay: number): void {
    if (this.halted) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.halted) return;
      // A run that got a container counts as a restart; a pull that failed before any did not.
      if (this.containerId !== undefined) this.run += 1;
      this.containerId = undefined;
      this.launching = this.launch();
    }, delay);
    this.restartTimer.unref();
  }

  private finish(state: 'Exited' | 'Failed', message: string): void {
    this.state = state;
    this.message = message;
    this.emit();
  }

  private emit(): void {
    if (!this.closed) this.options.onChange();
  }
}
