// What the control plane adds to fastify's types.
import type { ObjectStore } from '../store/types.ts';
import type { AuthService } from './auth/auth-service.ts';
import type { Principal } from './auth/principal.ts';
import type { ServerConfig } from './config.ts';
import type { Leadership } from './leader-lease.ts';
import type { ServerMetrics } from './metrics.ts';
import type { AgentGateway } from './agents/agent-gateway.ts';
import type { AgentAnswers } from './agents/agent-request-router.ts';
import type { AgentRegistry } from './agents/agent-registry.ts';
import type { NamespaceUsage } from './namespace-usage.ts';
import type { TunnelRelay } from './relay/tunnel-relay.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: ServerConfig;
    store: ObjectStore;
    auth: AuthService;
    metrics: ServerMetrics;
    /** Whether this replica leads, and its epoch, for /readyz and /metrics. */
    leadership: Leadership;
    /** This replica's name among those sharing the store (Agent status.replica names the one holding an agent). */
    replicaId: string;
    now: () => Date;
    agentRegistry: AgentRegistry;
    agentGateway: AgentGateway;
    /** Logs and stats from agents, wherever their connection is held. */
    agentRequests: AgentAnswers;
    /** What each namespace stores, for the per-user limits on objects and replicas. */
    namespaceUsage: NamespaceUsage;
    /** Absent unless LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS are set. */
    tunnelRelay: TunnelRelay | undefined;
  }
  interface FastifyRequest {
    /** Set by the authentication hook on every non-public route. */
    principal: Principal;
    /** Set instead of principal on agent routes, from the agent's credential. */
    agentName?: string;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (health, login, register, refresh). */
    public?: boolean;
    /** Accept the token as ?access_token= too (browsers cannot set headers on a WebSocket). */
    tokenInQuery?: boolean;
    /** Only for agents, with their own credential (users get 403). */
    agent?: boolean;
    /** Only for the other replicas, with the replica credential (replica-routes.ts). */
    replica?: boolean;
  }
}
