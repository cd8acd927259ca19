// Joining (join tokens, registration) and the agents' WebSocket.
import type { FastifyInstance } from 'fastify';
import api from '../../schemas/api.schema.json' with { type: 'json' };
import type { JoinTokenList, TunnelPort, TunnelPortRequest } from '../../schemas/types.gen.ts';
import { notFound } from '../errors.ts';

const NO_RELAY = 'this control plane runs no tunnel relay (set LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS on it, or NGROK_AUTHTOKEN on the agent)';

const labels = { type: 'object', additionalProperties: { type: 'string', maxLength: 63 }, maxProperties: 64 } as const;

export async function agentRoutes(app: FastifyInstance): Promise<void> {
  app.post(
    '/auth/join-tokens',
    { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { expiresInHours: { type: 'integer' } } } } },
    async (request, reply) => {
      reply.code(201);
      return app.agentRegistry.createJoinToken(request.principal, (request.body as { expiresInHours?: number } | null)?.expiresInHours);
    },
  );

  // Secrets are never listed: a join token is shown once, at creation.
  app.get('/auth/join-tokens', async (request) => {
    const tokens = await app.store.auth.listJoinTokens(request.principal.username);
    const scope = request.principal.role === 'admin' ? 'shared' : 'private';
    return { items: tokens.map(({ id, createdAt, expiresAt }) => ({ id, createdAt, expiresAt, scope })) } satisfies JoinTokenList;
  });

  // Agents that already joined keep their own credential: revoking stops new joins only.
  app.delete('/auth/join-tokens/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await app.store.auth.deleteJoinToken(request.principal.username, id))) throw notFound(`join token ${JSON.stringify(id)} not found (or already revoked)`);
    reply.code(204);
  });

  app.post(
    '/agents/register',
    {
      config: { public: true },
      schema: {
        body: {
          type: 'object',
          required: ['joinToken', 'name'],
          additionalProperties: false,
          properties: { joinToken: { type: 'string', maxLength: 512 }, name: { type: 'string', maxLength: 63 }, labels },
        },
      },
    },
    async (request, reply) => {
      const { joinToken, name, labels: agentLabels } = request.body as { joinToken: string; name: string; labels?: Record<string, string> };
      // Joining again replaces the credential: whoever holds the old one is cut off now, on any
      // replica (the ControlPlane disconnects it as the store reports the revocation).
      const registered = await app.agentRegistry.register(joinToken, name, agentLabels);
      reply.code(201);
      return registered;
    },
  );

  // `lattice agent rotate`: the agent trades its credential for a new one; the old one stops working at once.
  app.post('/agents/rotate', { config: { agent: true } }, async (request) => {
    return app.agentRegistry.rotate(request.agentName!);
  });

  // The agent asks for a tunnel's URL when it opens it; an answer of 404 tells it there is no relay.
  app.post('/agents/tunnels', { config: { agent: true }, schema: { body: api.$defs.TunnelPortRequest } }, async (request) => {
    if (!app.tunnelRelay) throw notFound(NO_RELAY);
    return { url: await app.tunnelRelay.urlFor(request.agentName!, request.body as TunnelPortRequest) } satisfies TunnelPort;
  });

  // Tunnel streams, on a connection of their own (agent-relay-channel.ts says why).
  app.get('/agents/relay', { websocket: true, config: { agent: true } }, (socket, request) => {
    if (!app.tunnelRelay) socket.close(1008, NO_RELAY.slice(0, 120));
    else app.tunnelRelay.acceptAgent(request.agentName!, socket);
  });

  app.get('/agents/connect', { websocket: true, config: { agent: true } }, (socket, request) => {
    app.agentGateway.accept(request.agentName!, socket, request.ip);
  });
}
