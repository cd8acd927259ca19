// Simulated agents that record every action the control plane sends them, for tests of replica
// churn (tests/e2e/replica-churn.test.ts); the replicas themselves are tests/support/replicas.ts.
//
// Not bench/sim-agent.ts's SimAgent: that one is fixed to one URL, drops what a deploy was for
// (it hands on only the workload's name) and forgets a deploy it has not answered yet when its
// connection goes. A test of duplicate deploys needs each deploy by uid and template hash, per
// connection, and an agent that behaves as the real one: what it was told to run it reports in
// its next hello, whatever connection the order came on.
import WebSocket from 'ws';
import type { AgentMessage, ObservedInstance, ServerMessage } from '../../schemas/types.gen.ts';

export interface DeployRecord {
  uid: string;
  templateHash: string;
  workload: string;
  /** The agent's connection it came on (1 for the first). */
  connection: number;
  /** The replica URL of that connection. */
  server: string;
  /**
   * The agent already ran (or was starting) this uid with this hash when the deploy came: the
   * control plane told it to deploy what it had reported, in its hello or a status.
   */
  duplicate: boolean;
}

export interface RecordingAgentOptions {
  name: string;
  credential: string;
  capacity: { cpu: string; memory: string };
  heartbeatMs: number;
  /** A deploy is Starting at once and reported Running this long after (0: at once). */
  startMs: number;
  /**
   * Replicas to move to, in order, when the connection closes without the test asking (its
   * replica died): the next one after the one it was on. Empty: it stays disconnected.
   */
  failover: string[];
}

export class RecordingAgent {
  /** The in-memory runtime: uid → what runs (or starts) there. */
  readonly instances = new Map<string, { templateHash: string; workload: string; state: 'Starting' | 'Running' }>();
  readonly deploys: DeployRecord[] = [];
  /** uids the control plane told it to stop (a stop of a uid it does not run is answered gone too). */
  readonly stops: string[] = [];
  /** Connections opened (hellos sent). */
  connection = 0;
  /** The URL of the current (or last) connection. */
  server = '';
  /** Connections that closed without the test asking, and where it went after. */
  readonly failovers: { from: string; to: string; at: number }[] = [];
  private socket: WebSocket | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(readonly options: RecordingAgentOptions) {}

  get name(): string {
    return this.options.name;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** uid → templateHash of what is Running (not Starting). */
  running(): Map<string, string> {
    return new Map([...this.instances].filter(([, i]) => i.state === 'Running').map(([uid, i]) => [uid, i.templateHash]));
  }

  /** Opens a connection to server and says hello with everything it runs; resolves once sent. */
  connect(server: string, timeoutMs = 10_000): Promise<void> {
    this.stopped = false;
    const url = `${server.replace(/^http/, 'ws')}/api/v1/agents/connect`;
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.credential}` }, handshakeTimeout: timeoutMs, perMessageDeflate: false });
      this.socket = socket;
      let opened = false;
      socket.once('open', () => {
        opened = true;
        this.connection += 1;
        this.server = server;
        const connection = this.connection;
        this.send({
          type: 'hello',
          agent: { capacity: this.options.capacity, runtimes: ['process'], version: 'churn-sim', address: '127.0.0.1' },
          instances: [...this.instances].map(([uid, i]) => this.observed(uid, i.templateHash, i.state)),
        });
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => this.send({ type: 'heartbeat' }), this.options.heartbeatMs);
        socket.on('message', (data: Buffer) => this.receive(JSON.parse(data.toString()) as ServerMessage, connection, server));
        resolve();
      });
      socket.once('unexpected-response', (_request, response) => reject(new Error(`agent ${this.name}: connection to ${server} refused: HTTP ${response.statusCode}`)));
      socket.on('error', (error) => {
        if (!opened) reject(error);
      });
      socket.once('close', () => {
        if (!opened) return reject(new Error(`agent ${this.name}: closed before it opened`));
        if (this.socket !== socket) return; // the test moved it on already
        clearInterval(this.heartbeat);
        if (!this.stopped) void this.failover(server);
      });
    });
  }

  /** Its replica went away: the next replica in its list, retried until one takes it (as the real agent's list does). */
  private async failover(from: string): Promise<void> {
    const { failover } = this.options;
    if (failover.length === 0) return;
    let next = (failover.indexOf(from) + 1) % failover.length;
    for (let attempt = 0; !this.stopped; attempt++) {
      // Jittered, as the real agent's backoff: not every agent of a dead replica at once.
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
      const to = failover[next]!;
      try {
        await this.connect(to);
        this.failovers.push({ from, to, at: Date.now() });
        return;
      } catch {
        next = (next + 1) % failover.length;
      }
    }
  }

  /** Cuts the connection at once, no close handshake (a dropped link); it does not move by itself. */
  drop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.socket?.terminate();
  }

  /** Closes for good (test cleanup). */
  close(): void {
    this.drop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private observed(uid: string, templateHash: string, state: 'Starting' | 'Running'): ObservedInstance {
    return { uid, templateHash, state, restarts: 0, health: state === 'Running' ? 'Healthy' : 'Unknown', endpoints: [] };
  }

  private send(message: AgentMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private receive(message: ServerMessage, connection: number, server: string): void {
    if (message.type === 'deploy') {
      const { uid, templateHash, workload } = message.instance;
      const current = this.instances.get(uid);
      this.deploys.push({ uid, templateHash, workload, connection, server, duplicate: current?.templateHash === templateHash });
      if (current?.templateHash === templateHash) {
        // What a real agent does with a deploy of what it runs: report it again, restart nothing.
        this.send({ type: 'status', instance: this.observed(uid, templateHash, current.state) });
        return;
      }
      // Starting at once: a hello on another connection reports it, so it is never deployed twice.
      this.instances.set(uid, { templateHash, workload, state: 'Starting' });
      const started = () => {
        const now = this.instances.get(uid);
        if (now?.templateHash !== templateHash) return; // stopped meanwhile
        now.state = 'Running';
        this.send({ type: 'status', instance: this.observed(uid, templateHash, 'Running') });
      };
      if (this.options.startMs <= 0) return started();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        started();
      }, this.options.startMs * (0.5 + Math.random()));
      this.timers.add(timer);
    } else if (message.type === 'stop') {
      this.stops.push(message.uid);
      this.instances.delete(message.uid);
      this.send({ type: 'gone', uid: message.uid });
    }
    // logs and stats requests: nothing asks for them here.
  }
}
