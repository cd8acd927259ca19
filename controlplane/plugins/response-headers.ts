// Headers on every response: the security headers, and CORS only for the configured origins
// (answering their preflight requests).
import fp from 'fastify-plugin';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

export const responseHeadersPlugin = fp(
  async (app) => {
    const origins = new Set(app.config.corsOrigins);
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin && origins.has(origin)) {
        reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
        if (request.method === 'OPTIONS') {
          reply
            .header('access-control-allow-methods', 'GET, POST, PUT, DELETE')
            .header('access-control-allow-headers', 'authorization, content-type')
            .header('access-control-max-age', '600')
            .code(204)
            .send();
          return reply;
        }
      }
    });
    app.addHook('onSend', async (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
  },
  { name: 'lattice-response-headers' },
);
