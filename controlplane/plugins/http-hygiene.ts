// Security headers on every response, CORS only for configured origins, the error catalogue,
// request metrics, and the body parsers (JSON and YAML, both checked for valid UTF-8).
import fp from 'fastify-plugin';
import { ApiError, notFound, toApiError } from '../errors.ts';
import { decodeUtf8, parseJsonBody, YamlBody } from '../apply/parse-manifests.ts';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

export const httpHygienePlugin = fp(async (app) => {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, new YamlBody(decodeUtf8(body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

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
  app.addHook('onResponse', async (request, reply) => {
    // A refused WebSocket upgrade: the socket left the HTTP server's keeping when the upgrade
    // began, so close it here, or a client that holds it open would hold up shutdown.
    if (request.headers.upgrade && reply.statusCode >= 400) request.raw.socket?.destroy();
    const route = request.routeOptions.url ?? 'unmatched';
    app.metrics.requests.inc({ method: request.method, route, code: String(reply.statusCode) });
    app.metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, request, reply) => {
    const { apiError, internal } = toApiError(error, app.config.bodyLimitBytes);
    if (internal) request.log.error({ err: error }, 'internal error');
    reply.code(apiError.code).headers(apiError.headers).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error: ApiError = notFound(`no route ${request.method} ${request.url.split('?')[0]}`);
    reply.code(error.code).send(error.toBody());
  });
}, { name: 'lattice-http-hygiene' });
