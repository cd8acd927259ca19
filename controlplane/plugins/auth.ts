import fp from 'fastify-plugin';
import { AuthService } from '../auth/auth-service.ts';
import { forbidden, unauthorized } from '../errors.ts';
import { AgentRegistry, isAgentToken } from '../agents/agent-registry.ts';
import { hashToken, isReplicaCredential, sameHash } from '../auth/tokens.ts';

/** Compared by hash: constant time whatever the lengths. */
function sameSecret(a: string, b: string): boolean {
  return sameHash(hashToken(a), hashToken(b));
}

/** Every route needs a bearer token unless its config says public. */
export const authPlugin = fp(async (app) => {
  app.decorate('auth', await AuthService.create(app.store, app.config, app.now));
  app.decorate('agentRegistry', new AgentRegistry(app.store, app.now, app.config.agentJoinToken));
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config?.public) return;
    const header = request.headers.authorization;
    let token: string | undefined;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw unauthorized('Authorization header must be "Bearer <token>"');
      token = match[1];
    } else if (config?.tokenInQuery) {
      const query = request.query as { access_token?: unknown };
      if (typeof query.access_token === 'string') token = query.access_token;
    }
    if (!token) throw unauthorized('a bearer token is required: log in (POST /api/v1/auth/login) or use an API token');
    // Replicas' requests to each other (forwarding to the one holding an agent) and nothing else.
    if (config?.replica || isReplicaCredential(token)) {
      if (!config?.replica || !isReplicaCredential(token)) throw forbidden('this route is only for the control plane\'s replicas');
      if (!sameSecret(token, app.auth.replicaCredential)) throw unauthorized('replica credential is not valid: do the replicas share one database and LATTICE_JWT_SECRET?');
      return;
    }
    // Agent credentials open the agent connection and nothing else; user tokens never open it.
    if (isAgentToken(token)) {
      const agentName = await app.agentRegistry.authenticate(token);
      if (!config?.agent) throw forbidden('agent credentials may only be used for the agent connection');
      request.agentName = agentName;
      return;
    }
    if (config?.agent) throw forbidden('this route is for agents: use the credential from registration');
    request.principal = await app.auth.authenticate(token);
  });
}, { name: 'lattice-auth', dependencies: ['lattice-store'] });
