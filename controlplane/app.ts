// build(options) assembles the control plane: config → store → auth → routes. The entry point
// (server.ts) only listens and handles signals, so tests build the same app on a loopback port.
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { ObjectStore } from '../store/types.ts';
import { resolveConfig, type ConfigOverrides } from './config.ts';
import './fastify-types.ts';
import { lazyValidatorFactory } from './lazy-validators.ts';
import { ServerMetrics } from './metrics.ts';
import { authPlugin } from './plugins/auth.ts';
import { httpHygienePlugin } from './plugins/http-hygiene.ts';
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
import { AgentGateway } from './agents/agent-gateway.ts';
import { LogCompactor } from './log-compactor.ts';
import { NamespaceUsage } from './namespace-usage.ts';
import { Reconciler } from '../reconciler/reconciler.ts';
import { isAgentReady } from '../reconciler/instance-state.ts';

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
    // JSON Schema meta-schema (70 ms, at the first compile) finds nothing the route tests miss.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false, validateSchema: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory() } },
    forceCloseConnections: true,
  });
  app.decorate('config', config);
  app.decorate('now', options.now ?? (() => new Date()));
  await app.register(httpHygienePlugin);
  await app.register(storePlugin, { store: options.store });
  app.decorate('metrics', new ServerMetrics(() => app.store.currentRevision()));
  await app.register(authPlugin);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  // The reconciler's instance cache answers the gateway's lookups by uid; without a
  // reconciler (API-only tests) the gateway reads nothing and writes no status.
  const reconciler: { value?: Reconciler } = {};
  const gateway = new AgentGateway({
    store: app.store,
    now: app.now,
    findInstance: (uid) => reconciler.value?.instances.byIndex('uid', uid)[0],
    isReady: (name) => {
      const agent = reconciler.value?.agents.get(undefined, name);
      return agent && isAgentReady(agent);
    },
    log: { warn: (message) => app.log.warn(message), error: (err, message) => app.log.error({ err }, message) },
    heartbeatPersistMs: config.agentTimings.heartbeatPersistMs,
  });
  app.decorate('agentGateway', gateway);
  if (config.reconciler) {
    reconciler.value = new Reconciler({
      store: app.store,
      link: gateway,
      timings: config.agentTimings,
      defaultRequests: config.defaultRequests,
      sharedRequestsPerUser: config.sharedRequestsPerUser,
      onError: (where, err) => app.log.warn({ err }, `reconcile ${where} failed; retrying`),
    });
    app.decorate('reconciler', reconciler.value);
    app.addHook('onReady', () => reconciler.value!.start());
  }
  const usage = new NamespaceUsage(app.store, config.limits, (err) => app.log.warn({ err }, 'counting namespace usage failed; relisting'));
  app.decorate('namespaceUsage', usage);
  app.addHook('onReady', () => usage.start());
  const compactor = new LogCompactor(app.store, config.compactIntervalMs, (err) => app.log.warn({ err }, 'compacting the change log failed; trying again next interval'));
  app.addHook('onReady', () => compactor.start());
  // Before the store closes: controllers and agent connections stop first.
  app.addHook('preClose', async () => {
    compactor.stop();
    usage.stop();
    reconciler.value?.stop();
    gateway.closeAll();
  });
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
  await app.register(uiStaticPlugin);
  return app;
}
