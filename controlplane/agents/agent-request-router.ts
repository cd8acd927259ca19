// Logs and stats of an instance come from its agent, over the WebSocket of whichever replica holds
// the agent's connection: this one (AgentRequests), or the one the Agent's status names, asked
// over HTTP with the replica credential (replica-client.ts). The API routes see no difference.
import type { InstanceStats } from '../../schemas/types.gen.ts';
import type { ReplicaDirectory } from '../replicas/replica-directory.ts';
import { forwardLogs, forwardStats } from '../replicas/replica-client.ts';
import { AgentRequestError, type AgentRequests, type LogRequestOptions, type LogStream } from './agent-requests.ts';

/** What the routes ask of agents. */
export interface AgentAnswers {
  logs(agent: string, uid: string, options: LogRequestOptions): Promise<LogStream>;
  stats(agent: string, uid: string): Promise<InstanceStats>;
}

export interface AgentRequestRouterDeps {
  local: AgentRequests;
  connectedHere(agent: string): boolean;
  /** The replica the Agent's status says holds its connection (absent: not connected anywhere). */
  holderOf(agent: string): string | undefined;
  replicas: ReplicaDirectory;
  credential: () => string;
}

export class AgentRequestRouter implements AgentAnswers {
  constructor(private readonly deps: AgentRequestRouterDeps) {}

  // async: a holder that cannot be asked is a rejection, like any other agent's failure.
  async logs(agent: string, uid: string, options: LogRequestOptions): Promise<LogStream> {
    const url = this.holderUrl(agent);
    return url ? forwardLogs(url, this.deps.credential(), agent, uid, options) : this.deps.local.logs(agent, uid, options);
  }

  async stats(agent: string, uid: string): Promise<InstanceStats> {
    const url = this.holderUrl(agent);
    return url ? forwardStats(url, this.deps.credential(), agent, uid) : this.deps.local.stats(agent, uid);
  }

  /** Another replica's URL when that one holds the agent; undefined to ask here (which says "not connected" if it is not). */
  private holderUrl(agent: string): string | undefined {
    const { replicas } = this.deps;
    if (this.deps.connectedHere(agent)) return undefined;
    const holder = this.deps.holderOf(agent);
    if (holder === undefined || holder === replicas.id) return undefined;
    const url = replicas.urlOf(holder);
    if (!url) {
      throw new AgentRequestError('notConnected', `agent ${agent} was connected to control-plane replica ${holder}, which is not answering (or advertised no URL: see --advertise-url); it will reconnect to another`);
    }
    return url;
  }
}
