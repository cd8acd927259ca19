// Tunnels through the control plane's built-in relay (controlplane/relay/): open() asks the
// control plane for the instance port's public URL (POST /agents/tunnels, answered with the same
// URL for the instance's whole life), and a relay WebSocket of its own (GET /agents/relay)
// carries the public connections as streams, each connected here to the instance on loopback.
//
// It is also the agent's gate (DESIGN §6a): a stream is accepted only for an instance port this
// agent has a tunnel open for, and the tunneling runtime opens those only for ports its instances
// declare `expose: tunnel`. Anything else (another instance, an undeclared port) is refused,
// whatever the control plane asks.
import { connect } from 'node:net';
import WebSocket from 'ws';
import type { TunnelPort, TunnelPortRequest } from '../../schemas/types.gen.ts';
import { Backoff, type BackoffPolicy } from '../../schemas/backoff.ts';
import { decodeRelayFrame, encodeRelayFrame, type RelayFrame } from '../../schemas/relay-frames.ts';
import { RelayStreams } from '../../schemas/relay-streams.ts';
import { TunnelUnavailableError, type Tunnel, type TunnelProvider, type TunnelTarget } from './tunnel-provider.ts';

export interface RelayProviderOptions {
  /** The control plane's URLs, as the agent's connection has them; tried in turn. */
  servers: readonly string[];
  /** The agent's credential, read at every request (`lattice agent rotate` replaces it). */
  credential: () => string;
  log?: (message: string) => void;
}

/** The same shape as the agent connection's reconnects (agent-daemon.ts). */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 400, maxMs: 10_000, jitter: 0.5 };
/** How long open() waits for the relay connection before failing (the tunnel is then retried). */
const CONNECT_TIMEOUT_MS = 10_000;

function tunnelKey(instanceUid: string, portName: string): string {
  return `${instanceUid}\n${portName}`;
}

export class RelayProvider implements TunnelProvider {
  readonly name = 'relay';
  /** The gate: where each open tunnel's streams go, by instance uid and port name. */
  private readonly targets = new Map<string, { host: string; port: number }>();
  private readonly reconnects = new Backoff(RECONNECT_BACKOFF);
  private serverIndex = 0;
  private socket: WebSocket | undefined;
  private streams: RelayStreams | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** open() calls waiting for the relay connection. */
  private waiting: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: RelayProviderOptions) {}

  async open(target: TunnelTarget): Promise<Tunnel> {
    const url = await this.requestUrl({ instanceUid: target.instanceUid, portName: target.portName });
    const key = tunnelKey(target.instanceUid, target.portName);
    const where = { host: target.host, port: target.port };
    // Only once the relay connection is up does the URL work: no tunnel is reported before.
    await this.relayConnected();
    this.targets.set(key, where);
    return {
      url,
      close: async () => {
        // A tunnel re-targeted meanwhile (the instance restarted on another host port) stays.
        if (this.targets.get(key) === where) this.targets.delete(key);
      },
    };
  }

  /** Stops the relay connection (the agent is stopping); its streams close. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.close(1001, 'agent stopping');
  }

  private relayConnected(): Promise<void> {
    if (!this.socket) this.connect();
    if (this.socket?.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== done);
        reject(new Error(`no relay connection to the control plane within ${CONNECT_TIMEOUT_MS / 1000}s`));
      }, CONNECT_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.push(done);
    });
  }

  private async requestUrl(request: TunnelPortRequest): Promise<string> {
    const server = this.options.servers[this.serverIndex % this.options.servers.length]!;
    let response: Response;
    try {
      response = await fetch(`${server}/api/v1/agents/tunnels`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.credential()}`, 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
    } catch (error) {
      this.serverIndex += 1;
      throw new Error(`cannot reach the control plane at ${server}: ${(error as Error).message}`);
    }
    const body = (await response.json().catch(() => ({}))) as Partial<TunnelPort> & { message?: string };
    if (response.status === 404) throw new TunnelUnavailableError(body.message ?? 'the control plane runs no tunnel relay');
    if (!response.ok || typeof body.url !== 'string') throw new Error(`the control plane answered HTTP ${response.status}: ${body.message ?? 'no URL'}`);
    return body.url;
  }

  private connect(): void {
    if (this.closed) return;
    const server = this.options.servers[this.serverIndex % this.options.servers.length]!;
    const socket = new WebSocket(`${server.replace(/^http/, 'ws')}/api/v1/agents/relay`, { headers: { authorization: `Bearer ${this.options.credential()}` } });
    const send = (frame: RelayFrame) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(encodeRelayFrame(frame));
    };
    const streams = new RelayStreams(send);
    this.socket = socket;
    this.streams = streams;
    socket.on('open', () => {
      this.reconnects.reset();
      for (const done of this.waiting.splice(0)) done();
    });
    socket.on('message', (data, isBinary) => {
      let frame: RelayFrame;
      try {
        if (!isBinary) throw new Error('relay frames are binary');
        frame = decodeRelayFrame(data as Buffer);
      } catch (error) {
        socket.close(1008, (error as Error).message.slice(0, 120));
        return;
      }
      if (frame.type === 'open') this.openStream(frame, streams, send, () => socket.readyState === WebSocket.OPEN);
      else if (!streams.deliver(frame) && frame.type !== 'close') send({ type: 'close', streamId: frame.streamId });
    });
    socket.on('unexpected-response', (_request, response) => {
      this.options.log?.(`tunnel relay connection refused: HTTP ${response.statusCode} from ${server}`);
      socket.terminate();
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      streams.abortAll();
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.closed) return;
      this.serverIndex += 1;
      this.reconnectTimer = setTimeout(() => this.connect(), this.reconnects.next());
      this.reconnectTimer.unref();
    });
  }

  private openStream({ streamId, instanceUid, portName }: Extract<RelayFrame, { type: 'open' }>, streams: RelayStreams, send: (frame: RelayFrame) => void, channelOpen: () => boolean): void {
    const target = this.targets.get(tunnelKey(instanceUid, portName));
    if (!target || streams.has(streamId)) {
      send({ type: 'refused', streamId, reason: `this agent has no tunnel for instance ${instanceUid} port ${JSON.stringify(portName)}` });
      return;
    }
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    let connected = false;
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (!connected) send({ type: 'refused', streamId, reason: `the instance does not answer on ${target.host}:${target.port} (${error.code ?? error.message})` });
    });
    socket.once('connect', () => {
      connected = true;
      // The relay connection dropped while this one connected: nobody is at the other end.
      if (!channelOpen()) {
        socket.destroy();
        return;
      }
      streams.attach(streamId, socket);
      send({ type: 'accepted', streamId });
    });
  }
}
