import type { FastifyInstance } from 'fastify';
import api from '../../schemas/api.schema.json' with { type: 'json' };

const credentials = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', maxLength: 64 }, password: { type: 'string', maxLength: 1024 } },
} as const;

// The answers' shapes are the API's schemas, which also generate the client's types: the
// serializer writes what they declare and nothing else.
const { TokenPair: tokenPair, ApiToken: apiToken } = api.$defs;

export async function authRoutes(app: FastifyInstance): Promise<void> {
  app.post('/auth/register', { config: { public: true }, schema: { body: credentials } }, async (request, reply) => {
    const { username, password } = request.body as { username: string; password: string };
    reply.code(201);
    return app.auth.register(username, password, request.ip);
  });

  app.post('/auth/login', { config: { public: true }, schema: { body: credentials, response: { 200: tokenPair } } }, async (request) => {
    const { username, password } = request.body as { username: string; password: string };
    return app.auth.login(username, password, request.ip);
  });

  app.post(
    '/auth/refresh',
    {
      config: { public: true },
      schema: { body: { type: 'object', required: ['refreshToken'], additionalProperties: false, properties: { refreshToken: { type: 'string', maxLength: 256 } } }, response: { 200: tokenPair } },
    },
    async (request) => app.auth.refresh((request.body as { refreshToken: string }).refreshToken),
  );

  app.post(
    '/auth/logout',
    { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { refreshToken: { type: 'string', maxLength: 256 } } } } },
    async (request, reply) => {
      await app.auth.logout(request.principal, (request.body as { refreshToken?: string } | null)?.refreshToken);
      reply.code(204);
    },
  );

  app.get('/auth/whoami', async (request) => {
    const { username, role, namespaces } = request.principal;
    return { username, role, namespaces };
  });

  app.post(
    '/auth/tokens',
    {
      schema: {
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' }, expiresInDays: { type: 'integer' } } },
        response: { 201: apiToken },
      },
    },
    async (request, reply) => {
      const { name, expiresInDays } = request.body as { name: string; expiresInDays?: number };
      reply.code(201);
      return app.auth.createApiToken(request.principal, name, expiresInDays);
    },
  );

  app.get('/auth/tokens', { schema: { response: { 200: { type: 'object', properties: { items: { type: 'array', items: apiToken } } } } } }, async (request) => ({
    items: await app.auth.listApiTokens(request.principal),
  }));

  app.delete('/auth/tokens/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } } }, async (request, reply) => {
    await app.auth.revokeApiToken(request.principal, (request.params as { id: string }).id);
    reply.code(204);
  });
}
