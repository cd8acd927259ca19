// Tunnels for ports with `expose: tunnel`, for any runtime: wraps the agent's runtime, opens a
// tunnel to an instance's host endpoint once it has one, adds the public URL to its endpoints
// (expose: tunnel) and reports a TunnelReady condition. The host endpoint stays either way, so
// when the tunnel cannot open (no token, no network, quota) the port still works on the host.
// A failed tunnel is retried with back-off; it closes when the instance stops.
import type { Condition, PortSpec } from '../../schemas/types.gen.ts';
import { backoffDelay } from '../../schemas/backoff.ts';
import { setCondition, transitioned, type ConditionFacts } from '../../schemas/conditions.ts';
import { ChangeFanout } from '../runtime/change-fanout.ts';
import type { AgentRuntime, DeploySpec, InstanceStats, LogOptions, ObservedInstance, StopOptions } from '../runtime/types.ts';
import { TunnelUnavailableError, type Tunnel, type TunnelProvider } from './tunnel-provider.ts';

export interface TunnelingOptions {
  /** Absent: tunnels cannot open, and unavailableReason says why. */
  provider?: TunnelProvider;
  unavailableReason?: string;
  /** Retry of a failed tunnel: 10 s doubling to 5 min by default. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  now?: () => Date;
  log?: (message: string) => void;
}

interface PortTunnel {
  /** host:port the tunnel forwards to. */
  target: string;
  status: 'opening' | 'open' | 'failed';
  url?: string;
  reason?: string;
  /** Failed because the service is not offered (no provider, or TunnelUnavailableError). */
  unavailable?: boolean;
  tunnel?: Tunnel;
  attempts: number;
  retry?: NodeJS.Timeout;
  /** Bumped when this entry is replaced or closed, so a late open() result is dropped. */
  generation: number;
}

function portName(port: PortSpec): string {
  return port.name ?? String(port.containerPort);
}

/** host:port of a host endpoint URL such as tcp://127.0.0.1:5432. */
function targetOf(url: string): { host: string; port: number } | undefined {
  const match = /:(\d+)\/?$/.exec(url);
  return match ? { host: '127.0.0.1', port: Number(match[1]) } : undefined;
}

export class TunnelingRuntime implements AgentRuntime {
  readonly runtimes: AgentRuntime['runtimes'];
  private readonly tunnels = new Map<string, Map<string, PortTunnel>>();
  /** Each instance's last TunnelReady: its lastTransitionTime is kept while the status is. */
  private readonly tunnelReady = new Map<string, Condition>();
  private readonly changes = new ChangeFanout();
  private readonly unsubscribe: () => void;
  private generation = 0;
  private closed = false;

  constructor(
    private readonly inner: AgentRuntime,
    private readonly options: TunnelingOptions,
  ) {
    this.runtimes = inner.runtimes;
    this.unsubscribe = inner.onChange((instance) => {
      this.sync(instance);
      this.changes.emit(this.augment(instance));
    });
    for (const instance of inner.list()) this.sync(instance);
  }

  deploy(spec: DeploySpec): Promise<void> {
    return this.inner.deploy(spec);
  }

  async stop(uid: string, options?: StopOptions): Promise<void> {
    await this.inner.stop(uid, options);
    await this.closeTunnels(uid);
    this.changes.forget(uid);
  }

  list(): ObservedInstance[] {
    return this.inner.list().map((instance) => this.augment(instance));
  }

  specOf(uid: string): DeploySpec | undefined {
    return this.inner.specOf(uid);
  }

  onChange(listener: (instance: ObservedInstance) => void): () => void {
    return this.changes.subscribe(listener);
  }

  logs(uid: string, options?: LogOptions): AsyncIterable<string> {
    return this.inner.logs(uid, options);
  }

  stats(uid: string): Promise<InstanceStats> {
    return this.inner.stats(uid);
  }

  /** Closes every tunnel (they would die with the agent anyway) and the runtime; instances keep running. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await Promise.all([...this.tunnels.keys()].map((uid) => this.closeTunnels(uid)));
    this.options.provider?.close?.();
    this.changes.clear();
    await this.inner.close();
  }

  private tunnelPorts(uid: string): PortSpec[] {
    return (this.inner.specOf(uid)?.template.ports ?? []).filter((p) => p.expose === 'tunnel');
  }

  /** Opens, re-targets or closes the instance's tunnels to match its host endpoints. */
  private sync(instance: ObservedInstance): void {
    if (this.closed) return;
    const wanted = this.tunnelPorts(instance.uid);
    let byPort = this.tunnels.get(instance.uid);
    if (wanted.length === 0 && !byPort) return;
    if (!byPort) this.tunnels.set(instance.uid, (byPort = new Map()));
    const names = new Set(wanted.map(portName));
    for (const [name, entry] of byPort) {
      if (!names.has(name)) {
        byPort.delete(name);
        void this.release(entry);
      }
    }
    for (const port of wanted) {
      const name = portName(port);
      const endpoint = instance.endpoints.find((e) => e.port === name && e.expose !== 'tunnel');
      const target = endpoint && targetOf(endpoint.url);
      // Not ready yet, or between two runs: keep what there is; open once there is an endpoint.
      if (!target) continue;
      const key = `${target.host}:${target.port}`;
      const existing = byPort.get(name);
      if (existing?.target === key) continue;
      if (existing) void this.release(existing);
      const entry: PortTunnel = { target: key, status: 'opening', attempts: 0, generation: ++this.generation };
      byPort.set(name, entry);
      this.open(instance.uid, port, entry, target);
    }
  }

  private open(uid: string, port: PortSpec, entry: PortTunnel, target: { host: string; port: number }): void {
    const { provider } = this.options;
    if (!provider) {
      entry.status = 'failed';
      entry.unavailable = true;
      entry.reason = this.options.unavailableReason ?? 'no tunnel service is configured on this agent';
      return;
    }
    const generation = entry.generation;
    const spec = this.inner.specOf(uid);
    entry.attempts += 1;
    provider
      .open({
        protocol: port.protocol === 'http' ? 'http' : 'tcp',
        host: target.host,
        port: target.port,
        instanceUid: uid,
        portName: portName(port),
        description: `${spec?.namespace}/${spec?.name} port ${portName(port)}`,
      })
      .then(
        (tunnel) => {
          if (this.closed || entry.generation !== generation) {
            void tunnel.close().catch(() => undefined);
            return;
          }
          entry.status = 'open';
          entry.url = tunnel.url;
          entry.tunnel = tunnel;
          entry.reason = undefined;
          entry.unavailable = undefined;
          this.options.log?.(`tunnel for ${spec?.namespace}/${spec?.name} port ${portName(port)}: ${tunnel.url}`);
          this.changed(uid);
        },
        (error: unknown) => {
          if (this.closed || entry.generation !== generation) return;
          const delay = backoffDelay(entry.attempts - 1, { initialMs: this.options.retryInitialMs ?? 10_000, maxMs: this.options.retryMaxMs ?? 300_000 });
          entry.status = 'failed';
          entry.unavailable = error instanceof TunnelUnavailableError;
          entry.reason = `${provider.name}: ${(error as Error).message ?? String(error)} (retrying in ${Math.round(delay / 1000)}s)`;
          this.options.log?.(`tunnel for ${spec?.namespace}/${spec?.name} port ${portName(port)} failed: ${entry.reason}`);
          entry.retry = setTimeout(() => {
            if (entry.generation === generation && !this.closed) this.open(uid, port, entry, target);
          }, delay);
          entry.retry.unref();
          this.changed(uid);
        },
      );
  }

  private changed(uid: string): void {
    const instance = this.inner.list().find((i) => i.uid === uid);
    if (instance) this.changes.emit(this.augment(instance));
  }

  private async release(entry: PortTunnel): Promise<void> {
    entry.generation = -1;
    clearTimeout(entry.retry);
    await entry.tunnel?.close().catch(() => undefined);
  }

  private async closeTunnels(uid: string): Promise<void> {
    const byPort = this.tunnels.get(uid);
    this.tunnels.delete(uid);
    this.tunnelReady.delete(uid);
    await Promise.all([...(byPort?.values() ?? [])].map((entry) => this.release(entry)));
  }

  /** The instance as the runtime sees it, plus tunnel endpoints and the TunnelReady condition. */
  private augment(instance: ObservedInstance): ObservedInstance {
    const ports = this.tunnelPorts(instance.uid);
    if (ports.length === 0) return instance;
    const byPort = this.tunnels.get(instance.uid) ?? new Map<string, PortTunnel>();
    const ready = instance.endpoints.length > 0;
    const entries = ports.map((port) => ({ name: portName(port), entry: byPort.get(portName(port)) }));
    const endpoints = ready
      ? [...instance.endpoints, ...entries.flatMap(({ name, entry }) => (entry?.status === 'open' && entry.url ? [{ port: name, url: entry.url, expose: 'tunnel' as const }] : []))]
      : instance.endpoints;
    const failed = entries.filter(({ entry }) => entry?.status === 'failed');
    let condition: ConditionFacts;
    if (failed.length > 0) {
      condition = {
        type: 'TunnelReady',
        status: 'False',
        reason: failed.every(({ entry }) => entry!.unavailable) ? 'TunnelUnavailable' : 'TunnelFailed',
        message: `${failed.map(({ name, entry }) => `port ${name}: ${entry!.reason}`).join('; ')}; the host endpoint still works`,
      };
    } else if (ready && entries.every(({ entry }) => entry?.status === 'open')) {
      condition = { type: 'TunnelReady', status: 'True', reason: 'TunnelOpen', message: entries.map(({ name, entry }) => `port ${name}: ${entry!.url}`).join('; ') };
    } else {
      // Not ready (a failing health check, too): the host endpoint is not listed, nor the tunnel to it.
      condition = { type: 'TunnelReady', status: 'Unknown', reason: ready ? 'TunnelOpening' : 'WaitingForEndpoint', message: ready ? 'opening the tunnel' : 'the tunnel is listed once the instance is ready' };
    }
    const previous = this.tunnelReady.get(instance.uid);
    const stamped = transitioned(previous && [previous], condition, (this.options.now?.() ?? new Date()).toISOString());
    this.tunnelReady.set(instance.uid, stamped);
    return { ...instance, endpoints, conditions: setCondition(instance.conditions, stamped) };
  }
}
