// How failures are answered: every error as the catalogue's coded body (errors.ts), an unknown
// route as a 404 of the same shape, and a refused WebSocket upgrade with its socket closed.
import fp from 'fastify-plugin';
import { notFound, toApiError } from '../errors.ts';

export const errorAnswersPlugin = fp(
  async (app) => {
    app.setErrorHandler((error, request, reply) => {
      const { apiError, internal } = toApiError(error, app.config.bodyLimitBytes);
      if (internal) request.log.error({ err: error }, 'internal error');
      reply.code(apiError.code).headers(apiError.headers).send(apiError.toBody());
    });
    app.setNotFoundHandler((request, reply) => {
      const error = notFound(`no route ${request.method} ${request.url.split('?')[0]}`);
      reply.code(error.code).send(error.toBody());
    });
    app.addHook('onResponse', async (request, reply) => {
      // The socket of an upgrade left the HTTP server's keeping when the upgrade began: close it
      // here, or a client that holds it open would hold up shutdown.
      if (request.headers.upgrade && reply.statusCode >= 400) request.raw.socket?.destroy();
    });
  },
  { name: 'lattice-error-answers' },
);
