// The agent: one WebSocket to the control plane. It says hello with everything its runtime
// observes, heartbeats, reports every change, carries out deploy/stop actions and answers
// logs/stats requests (agent-requests.ts). When the
// connection drops it keeps everything running and reconnects with jittered backoff, to the next
// of its server URLs (the replicas of one cluster, round robin); on reconnect the control plane
// diffs again, so nothing restarts just because a link flapped or a replica died.
import { cpus, totalmem } from 'node:os';
import WebSocket from 'ws';
import type { AgentFacts, AgentMessage, ServerMessage } from '../schemas/types.gen.ts';
import { Backoff, type BackoffPolicy } from '../schemas/backoff.ts';
import { formatFieldErrors, validateServerMessage } from '../schemas/validate.ts';
import { StatsHistory, type StatsHistoryOptions } from './stats-history.ts';
import { AgentRequestHandler } from './answer-requests.ts';
import type { AgentRuntime } from './runtime/types.ts';

export interface AgentDaemonOptions {
  /** e.g. [http://127.0.0.1:8080]: one server or load balancer, or the replicas of one cluster, tried in turn. */
  servers: readonly string[];
  name: string;
  /** The credential from registration, read at every connection (`lattice agent rotate` replaces it). */
  credential: () => string;
  runtime: AgentRuntime;
  advertiseAddress: string;
  version: string;
  /** Offer the process runtime to every tenant that may schedule here, not only the agent's owner. */
  tenantProcesses?: boolean;
  /** How the docker runtime networks containers, when there is one. */
  dockerNetwork?: 'bridge' | 'host';
  /** With host networking: every tenant's containers, not only the owner's. */
  tenantHostNetwork?: boolean;
  heartbeatMs?: number;
  /** How often instances' CPU and memory are sampled and how many readings are kept (default 5 s × 180). */
  statsHistory?: StatsHistoryOptions;
  log?: (message: string) => void;
}

/**
 * Reconnects: 400 ms doubling to 10 s, each delay between half and all of that (equal jitter), so
 * the agents of a control plane that restarts do not all come back in the same instant.
 */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 400, maxMs: 10_000, jitter: 0.5 };
/**
 * How long a connection must stay up before the back-off starts over. Not at 'open': a replica that
 * accepts and then drops the agent at once (shutting down, overloaded) would otherwise be retried
 * every few hundred milliseconds forever.
 */
const STABLE_CONNECTION_MS = 10_000;
/**
 * Refusals of the credential (401) in a row before the agent gives up: it was revoked (the Agent
 * deleted, joined again elsewhere, rotated from another copy). Retrying would never succeed; a
 * rotation here is picked up before the next attempt (the credential file is read each time).
 */
const REFUSALS_BEFORE_GIVING_UP = 3;

export class AgentDaemon {
  private socket: WebSocket | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private readonly reconnects = new Backoff(RECONNECT_BACKOFF);
  /** Index into options.servers of the one tried (or connected to) now. */
  private serverIndex = 0;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  /** Actions run one at a time per instance, in the order they arrived. */
  private readonly pending = new Map<string, Promise<void>>();
  private connectedOnce: (() => void) | undefined;
  readonly connected: Promise<void>;
  private refusedInARow = 0;
  private revokedOnce: ((reason: string) => void) | undefined;
  /** Resolves (with what to do) once the server has refused the credential for good. */
  readonly revoked: Promise<string>;
  private readonly requests: AgentRequestHandler;
  private readonly history: StatsHistory;

  constructor(private readonly options: AgentDaemonOptions) {
    this.connected = new Promise((resolve) => (this.connectedOnce = resolve));
    this.revoked = new Promise((resolve) => (this.revokedOnce = resolve));
    this.history = new StatsHistory(options.runtime, options.statsHistory);
    this.requests = new AgentRequestHandler(options.runtime, (message) => this.send(message), () => this.socket?.bufferedAmount ?? 0, this.history);
  }

  start(): void {
    this.unsubscribe = this.options.runtime.onChange((instance) => this.send({ type: 'status', instance }));
    this.history.start();
    this.connect();
  }

  private log(message: string): void {
    this.options.log?.(`agent ${this.options.name}: ${message}`);
  }

  private connect(): void {
    if (this.stopped) return;
    const server = this.server;
    const url = `${server.replace(/^http/, 'ws')}/api/v1/agents/connect`;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.credential()}` } });
    this.socket = socket;
    socket.on('open', () => {
      this.stableTimer = setTimeout(() => this.reconnects.reset(), STABLE_CONNECTION_MS);
      this.refusedInARow = 0;
      this.send({
        type: 'hello',
        agent: {
          capacity: { cpu: `${cpus().length * 1000}m`, memory: String(totalmem()) },
          runtimes: this.options.runtime.runtimes as AgentFacts['runtimes'],
          version: this.options.version,
          address: this.options.advertiseAddress,
          ...(this.options.tenantProcesses ? { tenantProcesses: true } : {}),
          ...(this.options.dockerNetwork ? { dockerNetwork: this.options.dockerNetwork } : {}),
          ...(this.options.tenantHostNetwork ? { tenantHostNetwork: true } : {}),
        },
        instances: this.options.runtime.list(),
      });
      this.heartbeat = setInterval(() => this.send({ type: 'heartbeat' }), this.options.heartbeatMs ?? 5000);
      this.log(`connected to ${server}`);
      this.connectedOnce?.();
    });
    socket.on('message', (data) => this.receive(String(data)));
    socket.on('unexpected-response', (_request, response) => {
      this.log(`connection refused: HTTP ${response.statusCode} from ${server}`);
      this.refusedInARow = response.statusCode === 401 ? this.refusedInARow + 1 : 0;
      socket.terminate();
    });
    socket.on('error', () => {}); // 'close' follows and schedules the reconnect
    socket.on('close', (code, reason) => {
      clearInterval(this.heartbeat);
      clearTimeout(this.stableTimer);
      this.requests.cancelAll();
      if (this.socket === socket) this.socket = undefined;
      if (this.stopped) return;
      if (this.refusedInARow >= REFUSALS_BEFORE_GIVING_UP) {
        this.stopped = true;
        const what = `the control plane refused this agent's credential ${this.refusedInARow} times: it was revoked (the Agent deleted, or joined again with another copy). Giving up; the processes it started keep running. Join again with a new token: lattice agent --join-token TOKEN (after removing credential.json from its --data-dir)`;
        this.log(what);
        this.revokedOnce?.(what);
        return;
      }
      const delay = this.reconnects.next();
      // The next replica: the one just lost may be gone for good (with a single URL, the same one).
      this.serverIndex = (this.serverIndex + 1) % this.options.servers.length;
      this.log(`disconnected from ${server} (${code}${reason.length ? ` ${reason}` : ''}); workloads keep running; reconnecting to ${this.server} in ${Math.round(delay)} ms`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private get server(): string {
    return this.options.servers[this.serverIndex]!;
  }

  private send(message: AgentMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private receive(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.log('ignored a message that is not JSON');
      return;
    }
    const result = validateServerMessage(parsed);
    if (!result.ok) {
      this.log(`ignored an invalid message: ${formatFieldErrors(result.errors)}`);
      return;
    }
    this.act(result.value);
  }

  private act(message: ServerMessage): void {
    if (message.type === 'logs' || message.type === 'logCredit' || message.type === 'cancel' || message.type === 'stats') {
      this.requests.handle(message);
      return;
    }
    const uid = message.type === 'deploy' ? message.instance.uid : message.uid;
    const previous = this.pending.get(uid) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (message.type === 'deploy') {
          this.log(`deploy ${message.instance.namespace}/${message.instance.name} (${message.instance.templateHash})`);
          await this.options.runtime.deploy(message.instance);
        } else {
          this.log(`stop ${uid}${message.reclaimVolumes ? ' (workload deleted)' : ''}`);
          await this.options.runtime.stop(uid, message.reclaimVolumes ? { reclaimVolumes: true } : {});
          this.send({ type: 'gone', uid });
        }
      })
      .catch((error: unknown) => this.log(`${message.type} ${uid} failed: ${(error as Error).message}`))
      .finally(() => {
        if (this.pending.get(uid) === next) this.pending.delete(uid);
      });
    this.pending.set(uid, next);
  }

  /** The runtimes this agent offers (docker, process). */
  get runtimes(): readonly string[] {
    return this.options.runtime.runtimes;
  }

  /** Disconnects and stops supervising; the instances keep running (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.history.stop();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    this.requests.cancelAll();
    this.socket?.close(1000, 'agent stopping');
    await Promise.allSettled([...this.pending.values()]);
    await this.options.runtime.close();
  }
}
