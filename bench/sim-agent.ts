// Simulated agents for the convergence bench: each one registers with a join token, keeps a
// real WebSocket to /api/v1/agents/connect and speaks the agent protocol
// (schemas/agent-protocol.schema.json) over an in-memory runtime: a deploy is Running at once,
// a stop is gone at once. Nothing is validated beyond what it takes to answer.
import PQueue from 'p-queue';
import WebSocket from 'ws';
import type { AgentMessage, ObservedInstance, ServerMessage } from '../schemas/types.gen.ts';

export interface SimAgentOptions {
  /** e.g. http://127.0.0.1:8080 */
  server: string;
  name: string;
  /** The credential from registration. */
  credential: string;
  capacity: { cpu: string; memory: string };
  heartbeatMs: number;
  /** Answer a deploy after this long (0: in the same tick it arrives). */
  replyDelayMs: number;
  /** Called when a deploy arrives (before it is answered with Running). */
  onDeploy?: (workload: string, agent: string) => void;
}

export class SimAgent {
  /** The in-memory runtime: uid → templateHash of what "runs" here. */
  readonly running = new Map<string, string>();
  deploys = 0;
  /** Deploys of a uid and template that already ran here (the control plane sent it twice). */
  duplicateDeploys = 0;
  stops = 0;
  /** Close code and reason when the server closed the connection while the bench still ran. */
  closedBy: string | undefined;
  private socket: WebSocket | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private firstBeat: NodeJS.Timeout | undefined;
  private readonly pending = new Set<NodeJS.Timeout>();
  private closing = false;

  constructor(private readonly options: SimAgentOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** Opens the WebSocket and says hello; resolves once the hello is sent. */
  connect(timeoutMs: number): Promise<void> {
    const url = `${this.options.server.replace(/^http/, 'ws')}/api/v1/agents/connect`;
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.credential}` }, handshakeTimeout: timeoutMs, perMessageDeflate: false });
      this.socket = socket;
      socket.once('open', () => {
        this.send({
          type: 'hello',
          agent: { capacity: this.options.capacity, runtimes: ['process'], version: 'bench-sim', address: '127.0.0.1' },
          instances: [...this.running].map(([uid, templateHash]) => this.observed(uid, templateHash)),
        });
        // Heartbeats spread over the interval, not 1,000 at once.
        this.firstBeat = setTimeout(() => {
          this.send({ type: 'heartbeat' });
          this.heartbeat = setInterval(() => this.send({ type: 'heartbeat' }), this.options.heartbeatMs);
        }, Math.random() * this.options.heartbeatMs);
        resolve();
      });
      socket.on('message', (data: Buffer) => this.receive(data));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`agent ${this.name}: connection refused: HTTP ${response.statusCode}`)));
      socket.on('error', (error) => reject(error));
      socket.once('close', (code, reason) => {
        this.stopTimers();
        if (!this.closing) this.closedBy = `${code} ${reason.toString()}`.trim();
        reject(new Error(`agent ${this.name}: closed before it opened (${code} ${reason.toString()})`));
      });
    });
  }

  private observed(uid: string, templateHash: string): ObservedInstance {
    return { uid, templateHash, state: 'Running', restarts: 0, health: 'Healthy', endpoints: [] };
  }

  private send(message: AgentMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private receive(data: Buffer): void {
    const message = JSON.parse(data.toString()) as ServerMessage;
    if (message.type === 'deploy') this.options.onDeploy?.(message.instance.workload, this.name);
    if (this.options.replyDelayMs <= 0) return this.act(message);
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      this.act(message);
    }, this.options.replyDelayMs);
    this.pending.add(timer);
  }

  private act(message: ServerMessage): void {
    if (message.type === 'deploy') {
      const { uid, templateHash } = message.instance;
      this.deploys += 1;
      if (this.running.get(uid) === templateHash) this.duplicateDeploys += 1;
      this.running.set(uid, templateHash);
      this.send({ type: 'status', instance: this.observed(uid, templateHash) });
    } else if (message.type === 'stop') {
      this.stops += 1;
      this.running.delete(message.uid);
      this.send({ type: 'gone', uid: message.uid });
    }
  }

  private stopTimers(): void {
    clearTimeout(this.firstBeat);
    clearInterval(this.heartbeat);
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }

  /** Closes the connection (terminating it if the close handshake takes longer than timeoutMs). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.stopTimers();
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'bench done');
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
    clearTimeout(timer);
    if (late) socket.terminate();
  }
}

/**
 * Runs op(0..count-1) with at most `concurrency` in flight (registering or connecting thousands of
 * agents at once would measure the listen backlog, not the server); rejects on the first failure.
 */
export async function limited(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  await new PQueue({ concurrency }).addAll(Array.from({ length: count }, (_, i) => () => op(i)));
}

/** POST /api/v1/agents/register with a join token; resolves with the agent's credential. */
export async function registerAgent(server: string, joinToken: string, name: string, labels: Record<string, string>, timeoutMs: number): Promise<string> {
  const response = await fetch(`${server}/api/v1/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken, name, labels }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`register ${name}: ${response.status} ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { token: string }).token;
}
