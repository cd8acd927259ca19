import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../../schemas/types.gen.ts';
import { ApiError, forbidden } from '../errors.ts';

export async function opsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true } }, async () => {
    try {
      // A standby is ready too: it serves the API; only the cluster-wide controllers wait.
      const { leading, epoch } = app.leadership;
      return { status: 'ready', revision: await app.store.currentRevision(), leader: leading, epoch, replica: app.replicaId } satisfies Readiness;
    } catch {
      throw new ApiError('ServiceUnavailable', 'the store is not answering');
    }
  });

  // Aggregates across tenants: admins (or their API tokens, for a scraper) only.
  app.get('/metrics', async (request, reply) => {
    if (request.principal.role !== 'admin') throw forbidden('metrics are for admins');
    reply.type('text/plain; version=0.0.4');
    return app.metrics.render();
  });
}
