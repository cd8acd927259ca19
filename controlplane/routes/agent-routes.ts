// Joining (join tokens, registration) and the agents' WebSocket.
import type { FastifyInstance } from 'fastify';

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
      reply.code(201);
      return app.agentRegistry.register(joinToken, name, agentLabels);
    },
  );

  app.get('/agents/connect', { websocket: true, config: { agent: true } }, (socket, request) => {
    app.agentGateway.accept(request.agentName!, socket);
  });
}
