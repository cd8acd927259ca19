// The built-in tunnel relay (DESIGN §6): a public TCP port per instance port exposed as a tunnel,
// taken from LATTICE_TUNNEL_PORTS and kept in the store, so the URL outlives agent reconnects and
// control-plane restarts. A connection to it becomes a stream on the relay channel of the agent
// the Instance is bound to, and nowhere else. Freed by a sweep once the Instance is gone.
// One replica for now: each listens on the ports it allocated or found in the store at start.
import { createServer, type Server, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Instance, TunnelPortRequest } from '../../schemas/types.gen.ts';
import type { TunnelPortStore } from '../../store/tunnel-port-store.ts';
import type { TunnelRelayConfig } from '../config.ts';
import { forbidden } from '../errors.ts';
import { AgentRelayChannel } from './agent-relay-channel.ts';

export interface TunnelRelayDeps {
  config: TunnelRelayConfig;
  ports: TunnelPortStore;
  /** The Instance with this uid, from the reconciler's cache. */
  findInstance: (uid: string) => Instance | undefined;
  /** How often ports of deleted Instances are freed (default 30 s). */
  sweepIntervalMs?: number;
  /** Refused streams, ports it cannot listen on: never a payload. */
  log: (message: string) => void;
}

const SWEEP_INTERVAL_MS = 30_000;
/** Connections one tunnel carries at once; more are closed as they arrive (net.Server maxConnections). */
const STREAMS_PER_TUNNEL = 256;

export class TunnelRelay {
  /** The public listeners, by port. */
  private readonly listeners = new Map<number, Server>();
  private readonly channels = new Map<string, AgentRelayChannel>();
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: TunnelRelayDeps) {}

  /** Listens on every port already allocated: their URLs work again before the agents ask. */
  async start(): Promise<void> {
    for (const record of await this.deps.ports.list()) await this.listen(record.port, record.instanceUid, record.portName).catch(() => undefined);
    this.sweeper = setInterval(() => void this.sweep().catch((error: unknown) => this.deps.log(`tunnel relay: freeing ports failed: ${(error as Error).message}`)), this.deps.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * The public URL of a port of an instance the agent runs, declared `expose: tunnel`: the same one
   * every time for that instance and port.
   */
  async urlFor(agent: string, { instanceUid, portName }: TunnelPortRequest): Promise<string> {
    const instance = this.deps.findInstance(instanceUid);
    if (!instance || instance.spec.agent !== agent) throw forbidden(`instance ${instanceUid} is not bound to agent ${agent}`);
    const declared = instance.spec.template.ports?.find((p) => (p.name ?? String(p.containerPort)) === portName);
    if (declared?.expose !== 'tunnel') throw forbidden(`instance ${instanceUid} declares no port ${JSON.stringify(portName)} with expose: tunnel`);
    const port = await this.deps.ports.allocate(instanceUid, portName, this.deps.config.ports);
    await this.listen(port, instanceUid, portName);
    // Raw TCP either way: an http port is reached as http://host:port through it (host-name
    // routing on the main listener is to come).
    return `${declared.protocol === 'http' ? 'http' : 'tcp'}://${this.deps.config.address}:${port}`;
  }

  /** Serves an agent's relay WebSocket; a newer one replaces it. */
  acceptAgent(agent: string, socket: WebSocket): void {
    this.channels.get(agent)?.close('replaced by a newer relay connection of this agent');
    const channel = new AgentRelayChannel(socket, (message) => this.deps.log(`tunnel relay, agent ${agent}: ${message}`));
    this.channels.set(agent, channel);
    socket.on('close', () => {
      if (this.channels.get(agent) === channel) this.channels.delete(agent);
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const channel of this.channels.values()) channel.close('control plane shutting down');
    for (const port of [...this.listeners.keys()]) this.unlisten(port);
  }

  private async listen(port: number, instanceUid: string, portName: string): Promise<void> {
    if (this.stopped || this.listeners.has(port)) return;
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.connected(socket, instanceUid, portName));
    server.maxConnections = STREAMS_PER_TUNNEL;
    this.listeners.set(port, server);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.deps.config.listenAddress, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      // Another process holds it: this tunnel has no public side until the port is free; the
      // next request for its URL (an agent reconnecting, the tunnel retried) tries again. At
      // start, logged only: the control plane serves everything else.
      this.listeners.delete(port);
      this.deps.log(`tunnel relay: cannot listen on ${this.deps.config.listenAddress}:${port} for instance ${instanceUid} port ${portName}: ${(error as Error).message}`);
      throw error;
    }
  }

  /** Stops accepting at once; connections already carried end with their streams. */
  private unlisten(port: number): void {
    this.listeners.get(port)?.close();
    this.listeners.delete(port);
  }

  private connected(socket: Socket, instanceUid: string, portName: string): void {
    const agent = this.deps.findInstance(instanceUid)?.spec.agent;
    const channel = agent === undefined ? undefined : this.channels.get(agent);
    // No agent to carry it (not placed, not connected, the Instance gone): the client sees a close.
    if (!channel) {
      socket.destroy();
      return;
    }
    channel.open(socket, instanceUid, portName);
  }

  /** Frees the ports of Instances that are gone, and stops listening on them. */
  private async sweep(): Promise<void> {
    const gone = new Set<string>();
    for (const record of await this.deps.ports.list()) {
      if (!this.deps.findInstance(record.instanceUid)) gone.add(record.instanceUid);
    }
    for (const uid of gone) {
      for (const port of await this.deps.ports.release(uid)) this.unlisten(port);
    }
  }
}
