// What the control plane adds to fastify's types.
import type { ObjectStore } from '../store/types.ts';
import type { AuthService } from './auth/auth-service.ts';
import type { Principal } from './auth/principal.ts';
import type { ServerConfig } from './config.ts';
import type { ServerMetrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: ServerConfig;
    store: ObjectStore;
    auth: AuthService;
    metrics: ServerMetrics;
    now: () => Date;
  }
  interface FastifyRequest {
    /** Set by the authentication hook on every non-public route. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (health, login, register, refresh). */
    public?: boolean;
    /** Accept the token as ?access_token= too (browsers cannot set headers on a WebSocket). */
    tokenInQuery?: boolean;
  }
}
