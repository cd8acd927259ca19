// The agents' side of the control plane: one WebSocket per agent. It records what each agent
// reports (the reconciler's AgentLink reads it), writes Agent and Instance status from those
// reports, and carries deploy/stop actions back. An agent may only report on its own instances.
import { isDeepStrictEqual } from 'node:util';
import type { WebSocket } from 'ws';
import { sendBatched } from '../socket-batching.ts';
import type { AgentFacts, Condition, Instance, InstanceStatus, ObservedInstance, ServerMessage } from '../../schemas/types.gen.ts';
import { formatFieldErrors, validateAgentMessage } from '../../schemas/validate.ts';
import { setCondition, upsertCondition } from '../../schemas/conditions.ts';
import type { ObjectStore } from '../../store/types.ts';
import type { AgentChange, AgentLink } from '../../reconciler/agent-link.ts';
import { NOTHING_IN_FLIGHT, type InFlight } from '../../reconciler/plan-agent-actions.ts';
import { INSTANCE_FINALIZER } from '../../schemas/labels-and-finalizers.ts';
import { AgentRequests } from './agent-requests.ts';

interface Connection {
  socket: WebSocket;
  /** Where it came from, for the second-connection warning. */
  address: string;
  observed: Map<string, ObservedInstance>;
  /** Deploys sent and not yet reported: uid → templateHash. */
  deploys: Map<string, string>;
  /** Stops sent and not yet answered with gone: uid → when sent. */
  stops: Map<string, number>;
  /** When lastHeartbeatTime was last written to the Agent. */
  persistedAt: number;
}

export interface GatewayDeps {
  store: ObjectStore;
  now: () => Date;
  /** The Instance with this uid, from the reconciler's cache. */
  findInstance: (uid: string) => Instance | undefined;
  /** Whether the Agent is Ready as the reconciler's cache has it (undefined: no cache here). */
  isReady?: (agent: string) => boolean | undefined;
  /** Heartbeats are kept in memory; the Agent's lastHeartbeatTime is written this often (default 30 s). */
  heartbeatPersistMs?: number;
  /**
   * A connection silent this long is closed (it is half-open, or the agent hangs): liveness is then
   * in the store for every replica's lifecycle controller to read (default 15 s, the grace).
   */
  silenceMs?: number;
  /** This replica (Agent status.replica names the one holding the connection). */
  replica: string;
  log: { warn(message: string): void; error(error: unknown, message: string): void };
}

const CLOSE_POLICY = 1008;
const CLOSE_REPLACED = 4000;
const HEARTBEAT_PERSIST_MS = 30_000;
/** A stop unanswered this long is presumed lost and sent again. */
const STOP_RESEND_MS = 30_000;
/** A connection heard from this recently is live: a second one with its credential is worth a warning. */
const LIVE_CONNECTION_MS = 10_000;
const SILENCE_MS = 15_000;

export class AgentGateway implements AgentLink {
  private readonly connections = new Map<string, Connection>();
  private readonly listeners: ((agent: string, change: AgentChange) => void)[] = [];
  /** When each agent was last heard from; kept after it disconnects. */
  private readonly heard = new Map<string, number>();
  /** Logs and stats requests to agents, and their answers. */
  readonly requests = new AgentRequests((agent, message) => this.send(agent, message));

  private readonly heartbeatPersistMs: number;
  private readonly silenceMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly deps: GatewayDeps) {
    this.heartbeatPersistMs = deps.heartbeatPersistMs ?? HEARTBEAT_PERSIST_MS;
    this.silenceMs = deps.silenceMs ?? SILENCE_MS;
  }

  observed(agent: string): readonly ObservedInstance[] | undefined {
    const connection = this.connections.get(agent);
    return connection && [...connection.observed.values()];
  }

  inFlight(agent: string): InFlight {
    const connection = this.connections.get(agent);
    if (!connection) return NOTHING_IN_FLIGHT;
    const since = this.deps.now().getTime() - STOP_RESEND_MS;
    const stops = new Set<string>();
    for (const [uid, sentAt] of connection.stops) if (sentAt > since) stops.add(uid);
    return { deploys: connection.deploys, stops };
  }

  lastHeard(agent: string): number | undefined {
    return this.heard.get(agent);
  }

  send(agent: string, message: ServerMessage): boolean {
    const connection = this.connections.get(agent);
    if (!connection) return false;
    if (message.type === 'deploy') {
      connection.deploys.set(message.instance.uid, message.instance.templateHash);
      connection.stops.delete(message.instance.uid);
    } else if (message.type === 'stop') {
      connection.deploys.delete(message.uid);
      connection.stops.set(message.uid, this.deps.now().getTime());
    }
    sendBatched(connection.socket, JSON.stringify(message));
    return true;
  }

  onAgentChange(listener: (agent: string, change: AgentChange) => void): void {
    this.listeners.push(listener);
  }

  get connectedCount(): number {
    return this.connections.size;
  }

  private changed(agent: string, change: AgentChange): void {
    for (const listener of this.listeners) listener(agent, change);
  }

  /**
   * Serves one agent's connection until it closes. A newer connection replaces a live one; if the
   * live one was still heartbeating, two processes hold one credential (a copy, or a restart
   * racing its old self), and the Agent says so.
   */
  accept(agent: string, socket: WebSocket, address: string): void {
    this.sweeper ??= setInterval(() => this.closeSilent(), Math.max(100, this.silenceMs / 3)).unref();
    const previous = this.connections.get(agent);
    if (previous) previous.socket.close(CLOSE_REPLACED, 'replaced by a newer connection of this agent');
    const heardAgo = this.deps.now().getTime() - (this.heard.get(agent) ?? 0);
    let connection: Connection | undefined;
    // Messages are handled one at a time, in order: a status must not overtake the hello.
    let chain = previous && heardAgo < LIVE_CONNECTION_MS ? this.warnSecondConnection(agent, previous.address, address, heardAgo) : Promise.resolve();
    socket.on('message', (data) => {
      chain = chain.then(async () => {
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          socket.close(CLOSE_POLICY, 'messages must be JSON');
          return;
        }
        const result = validateAgentMessage(message);
        if (!result.ok) {
          socket.close(CLOSE_POLICY, `invalid message: ${formatFieldErrors(result.errors)}`.slice(0, 120));
          return;
        }
        const msg = result.value;
        this.heard.set(agent, this.deps.now().getTime());
        if (msg.type === 'hello') {
          // The first heartbeat write comes after a random part of the period: agents that
          // connect together (after a control-plane restart, all of them) would otherwise write
          // their heartbeats together, a burst every period.
          const persistedAt = this.deps.now().getTime() - Math.random() * this.heartbeatPersistMs;
          connection = { socket, address, observed: new Map(msg.instances.map((i) => [i.uid, i])), deploys: new Map(), stops: new Map(), persistedAt };
          this.connections.set(agent, connection);
          await this.markReady(agent, msg.agent);
          for (const observed of msg.instances) await this.writeInstanceStatus(agent, observed);
        } else if (!connection) {
          socket.close(CLOSE_POLICY, 'send hello first');
          return;
        } else if (msg.type === 'logData' || msg.type === 'logEnd' || msg.type === 'statsResult') {
          this.requests.handle(agent, msg);
          return;
        } else if (msg.type === 'heartbeat') {
          // Liveness lives in memory (the lifecycle controller asks lastHeard); the Agent object
          // is written only when it is not Ready any more, and otherwise now and then.
          const now = this.deps.now().getTime();
          if (this.deps.isReady?.(agent) === false || now - connection.persistedAt >= this.heartbeatPersistMs) {
            connection.persistedAt = now;
            await this.markReady(agent, undefined);
          }
          return;
        } else if (msg.type === 'status') {
          connection.observed.set(msg.instance.uid, msg.instance);
          if (connection.deploys.get(msg.instance.uid) === msg.instance.templateHash) connection.deploys.delete(msg.instance.uid);
          // A report the Instance's status now shows reaches the agent sync as that Instance's change.
          if (await this.writeInstanceStatus(agent, msg.instance)) return;
        } else if (msg.type === 'gone') {
          connection.observed.delete(msg.uid);
          connection.deploys.delete(msg.uid);
          connection.stops.delete(msg.uid);
          await this.finishDeletion(agent, msg.uid);
        }
        this.changed(agent, msg.type === 'hello' ? 'connection' : 'report');
      }).catch((error: unknown) => this.deps.log.error(error, `agent ${agent}: handling a message failed`));
    });
    socket.on('close', () => {
      if (connection && this.connections.get(agent) === connection) {
        this.connections.delete(agent);
        this.requests.disconnected(agent);
        this.changed(agent, 'connection');
        // Not as this replica shuts down: its row's going tells the others.
        if (!this.closing) chain = chain.then(() => this.markDisconnected(agent)).catch((error: unknown) => this.deps.log.error(error, `agent ${agent}: recording its disconnection failed`));
      }
    });
  }

  /** Connections not heard from within silenceMs: closed, so the store says the agent is silent. */
  private closeSilent(): void {
    const before = this.deps.now().getTime() - this.silenceMs;
    for (const [agent, { socket }] of this.connections) {
      if ((this.heard.get(agent) ?? 0) < before) socket.terminate();
    }
  }

  /**
   * The Agent no longer names this replica, and its lastHeartbeatTime is when it was last heard:
   * the leader (perhaps another replica) counts its silence from there. Not if it has meanwhile
   * connected to another replica (status.replica names that one).
   */
  private async markDisconnected(agent: string): Promise<void> {
    const heard = this.heard.get(agent);
    const key = { kind: 'Agent', name: agent };
    await this.deps.store.transact(async (tx) => {
      const current = await tx.find(key);
      const status = (current?.status ?? {}) as Record<string, unknown>;
      if (!current || status.replica !== this.deps.replica) return;
      const { replica: _ours, ...rest } = status;
      await tx.updateStatus(key, { ...rest, ...(heard ? { lastHeartbeatTime: new Date(heard).toISOString() } : {}) }, { uid: current.metadata.uid! });
    });
  }

  /** Closes the agent's connection, e.g. once its credential is replaced: it reconnects only with the new one. */
  disconnect(agent: string, reason: string): void {
    this.connections.get(agent)?.socket.close(CLOSE_POLICY, reason);
  }

  private async warnSecondConnection(agent: string, previousAddress: string, address: string, heardAgo: number): Promise<void> {
    const now = this.deps.now().toISOString();
    const message =
      `a connection from ${address} presented this agent's credential at ${now} while the one from ${previousAddress} was live (heard ${(heardAgo / 1000).toFixed(1)} s before) and replaced it. ` +
      'If the agent did not just restart, its credential may have been copied: run `lattice agent rotate` on its machine';
    this.deps.log.warn(`agent ${agent}: ${message}`);
    const key = { kind: 'Agent', name: agent };
    try {
      const current = await this.deps.store.get(key);
      const status = (current.status ?? {}) as { conditions?: Condition[] };
      const condition: Condition = { type: 'SecondConnection', status: 'True', reason: 'CredentialReused', message, lastTransitionTime: now };
      await this.deps.store.updateStatus(key, { ...status, conditions: setCondition(status.conditions, condition) });
    } catch (error) {
      this.deps.log.error(error, `agent ${agent}: recording a second connection failed`);
    }
  }

  private async markReady(agent: string, facts: AgentFacts | undefined): Promise<void> {
    const key = { kind: 'Agent', name: agent };
    const current = await this.deps.store.get(key);
    const status = (current.status ?? {}) as Record<string, unknown> & { conditions?: Condition[] };
    const now = this.deps.now().toISOString();
    // A hello replaces every fact: one it no longer reports (docker gone) goes.
    const { dockerNetwork: _reported, ...kept } = status;
    const next = {
      ...(facts ? { ...kept, ...agentFactsStatus(facts) } : status),
      lastHeartbeatTime: now,
      replica: this.deps.replica,
      conditions: upsertCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'connected and heartbeating' }, now),
    };
    await this.deps.store.updateStatus(key, next);
  }

  private ownInstance(agent: string, uid: string): Instance | undefined {
    const instance = this.deps.findInstance(uid);
    if (instance && instance.spec.agent !== agent) {
      this.deps.log.warn(`agent ${agent} reported on instance ${uid}, which is bound to ${instance.spec.agent ?? 'no agent'}; ignored`);
      return undefined;
    }
    return instance;
  }

  /** Whether it wrote the Instance's status. */
  private async writeInstanceStatus(agent: string, observed: ObservedInstance): Promise<boolean> {
    const instance = this.ownInstance(agent, observed.uid);
    if (!instance || instance.spec.templateHash !== observed.templateHash) return false;
    const { uid: _uid, templateHash: _hash, ...reported } = observed;
    const status: InstanceStatus = { ...reported };
    if (isDeepStrictEqual(instance.status, status)) return false;
    return this.deps.store
      .updateStatus({ kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name }, status, { uid: instance.metadata.uid, basis: instance })
      .then(
        () => true,
        (error: { code?: string }) => {
          if (error.code !== 'NotFound' && error.code !== 'Conflict') throw error;
          return false;
        },
      );
  }

  /** The agent confirms an instance is stopped: a deleted Instance may now disappear. */
  private async finishDeletion(agent: string, uid: string): Promise<void> {
    const instance = this.ownInstance(agent, uid);
    if (!instance) return;
    const key = { kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name };
    // Read afresh: the cached copy may be a revision behind.
    await this.deps.store.transact(async (tx) => {
      const current = await tx.find(key);
      if (!current?.metadata.deletionTimestamp || current.metadata.uid !== uid || !current.metadata.finalizers?.includes(INSTANCE_FINALIZER)) return;
      await tx.update({ ...current, metadata: { ...current.metadata, finalizers: current.metadata.finalizers.filter((f) => f !== INSTANCE_FINALIZER) } });
    });
  }

  closeAll(): void {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const { socket } of this.connections.values()) socket.close(1001, 'control plane shutting down');
  }
}

/** What an agent's hello says of it, as the Agent's status shows it (a fact it stops reporting goes). */
function agentFactsStatus(facts: AgentFacts): Record<string, unknown> {
  return {
    capacity: facts.capacity,
    allocatable: facts.capacity,
    runtimes: facts.runtimes,
    tenantProcesses: facts.tenantProcesses === true,
    ...(facts.dockerNetwork ? { dockerNetwork: facts.dockerNetwork } : {}),
    tenantHostNetwork: facts.tenantHostNetwork === true,
    version: facts.version,
    address: facts.address,
  };
}
