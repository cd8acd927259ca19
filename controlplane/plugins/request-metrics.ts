// Every answered request counted and timed by method, route and status (GET /metrics).
import fp from 'fastify-plugin';

export const requestMetricsPlugin = fp(
  async (app) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      app.metrics.requests.inc({ method: request.method, route, code: String(reply.statusCode) });
      app.metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
  },
  { name: 'lattice-request-metrics' },
);
