// build(options) serves the control plane over HTTP: config → store → auth → the ControlPlane
// (control-plane.ts), started when the server is ready and stopped before it closes → routes. The
// entry point (server.ts) only listens and handles signals, so tests build the same app on a
// loopback port.
import { hostname } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { ObjectStore } from '../store/types.ts';
import { resolveConfig, type ConfigOverrides } from './config.ts';
import './fastify-types.ts';
import { lazyValidatorFactory } from './lazy-validators.ts';
import { ServerMetrics } from './metrics.ts';
import { authPlugin } from './plugins/auth.ts';
import { bodyParsersPlugin } from './plugins/body-parsers.ts';
import { errorAnswersPlugin } from './plugins/error-answers.ts';
import { requestMetricsPlugin } from './plugins/request-metrics.ts';
import { responseHeadersPlugin } from './plugins/response-headers.ts';
import { storePlugin } from './plugins/store.ts';
import { uiStaticPlugin } from './plugins/ui-static.ts';
import { applyRoutes } from './routes/apply-routes.ts';
import { authRoutes } from './routes/auth-routes.ts';
import { opsRoutes } from './routes/ops-routes.ts';
import { resourceRoutes } from './routes/resource-routes.ts';
import { watchRoutes } from './routes/watch-routes.ts';
import { agentRoutes } from './routes/agent-routes.ts';
import { historyRoutes } from './routes/history-routes.ts';
import { workloadRuntimeRoutes } from './routes/workload-runtime-routes.ts';
import { ControlPlane } from './control-plane.ts';
import { PostgresLeaderLease } from './leader-lease.ts';
import { isPostgresUrl } from '../store/open-store.ts';
import { AgentRequestRouter } from './agents/agent-request-router.ts';
import { replicaRoutes } from './routes/replica-routes.ts';

export interface BuildOptions {
  config?: ConfigOverrides;
  /** Use this store instead of opening config.db (it is then not closed with the app). */
  store?: ObjectStore;
  now?: () => Date;
}

export async function build(options: BuildOptions = {}): Promise<FastifyInstance> {
  const config = resolveConfig(options.config);
  const app = Fastify({
    logger: config.logger
      ? {
          level: 'info',
          serializers: {
            // Watch URLs may carry ?access_token= (browsers cannot set headers on a WebSocket).
            req: (request: { method: string; url: string; ip?: string }) => ({
              method: request.method,
              url: request.url.replace(/access_token=[^&]*/g, 'access_token=***'),
              remoteAddress: request.ip,
            }),
          },
        }
      : false,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: false,
    // validateSchema: route schemas are constants of this code, so checking them against the
    // JSON Schema meta-schema (a cost at the first compile, on start-up's path) finds nothing
    // the route tests miss.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false, validateSchema: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory() } },
    forceCloseConnections: true,
  });
  app.decorate('config', config);
  app.decorate('now', options.now ?? (() => new Date()));
  await app.register(errorAnswersPlugin);
  await app.register(responseHeadersPlugin);
  await app.register(bodyParsersPlugin);
  await app.register(requestMetricsPlugin);
  await app.register(storePlugin, { store: options.store });
  // Replicas share a PostgreSQL store they opened themselves; a store handed in is one process's.
  const lease = !options.store && isPostgresUrl(config.db) ? new PostgresLeaderLease(config.db, app.log) : undefined;
  const controlPlane = new ControlPlane({ config, store: app.store, now: app.now, log: app.log, lease });
  app.decorate('leadership', controlPlane.leadership);
  app.decorate('replicaId', controlPlane.replicas.id);
  app.decorate('metrics', new ServerMetrics(() => app.store.currentRevision(), controlPlane.leadership));
  await app.register(authPlugin);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  app.decorate('agentGateway', controlPlane.gateway);
  app.decorate(
    'agentRequests',
    new AgentRequestRouter({
      local: controlPlane.gateway.requests,
      connectedHere: (agent) => controlPlane.gateway.observed(agent) !== undefined,
      holderOf: (agent) => controlPlane.reconciler?.agents.get(undefined, agent)?.status?.replica,
      replicas: controlPlane.replicas,
      credential: () => app.auth.replicaCredential,
    }),
  );
  // Other replicas forward requests for agents connected here to this listening address, unless
  // told another (--advertise-url: behind NAT or a container's name).
  app.addHook('onListen', async () => {
    controlPlane.replicas.advertise(listeningUrl(app));
  });
  app.decorate('namespaceUsage', controlPlane.usage);
  app.decorate('tunnelRelay', controlPlane.tunnelRelay);
  app.addHook('onReady', () => controlPlane.start());
  // preClose: before the store closes (onClose).
  app.addHook('preClose', async () => controlPlane.stop());
  await app.register(opsRoutes);
  await app.register(
    async (api) => {
      await api.register(authRoutes);
      await api.register(applyRoutes);
      await api.register(resourceRoutes);
      await api.register(watchRoutes);
      await api.register(agentRoutes);
      await api.register(historyRoutes);
      await api.register(workloadRuntimeRoutes);
    },
    { prefix: '/api/v1' },
  );
  await app.register(replicaRoutes, { prefix: '/internal/v1' });
  await app.register(uiStaticPlugin);
  return app;
}

/** http://host:port of the listening socket; a wildcard address is reached by the host's name. */
function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') return '';
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? hostname() : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
