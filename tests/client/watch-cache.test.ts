// The shared list+watch cache (client/watch-cache.ts) against the real server over real
// WebSockets: it lists once, follows changes, resumes from its revision after a dropped
// connection (no second list), lists again only on ERROR 410, survives a server restart, keeps
// a stable order, and holds nothing of another tenant's.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type WebSocket from 'ws';
import { LatticeApiError, LatticeClient, type WebSocketFactory } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import { WatchCache, type WatchCacheStatus } from '../../client/watch-cache.ts';
import type { Agent, Workload } from '../../schemas/types.gen.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import { freePort, restartableControlPlane, waitFor } from '../e2e/support.ts';

const workload = (name: string, labels?: Record<string, string>): Workload => ({
  apiVersion: 'lattice/v1',
  kind: 'Workload',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { command: ['sleep', '60'] },
});

const names = (cache: WatchCache) => cache.list().map((o) => o.metadata.name);

/**
 * Real sockets the test can cut (terminate(): the TCP connection just dies) and a "network
 * down" switch: while down, new connections go to a port where nothing listens and are refused.
 */
function cuttableSockets(serverUrl: string) {
  const sockets: WebSocket[] = [];
  let deadPort: number | undefined;
  const { port } = new URL(serverUrl);
  const factory: WebSocketFactory = (url, token) => {
    const target = deadPort === undefined ? url : url.replace(`:${port}/`, `:${deadPort}/`);
    const socket = nodeWebSocket(target, token);
    sockets.push(socket as unknown as WebSocket);
    return socket;
  };
  return {
    factory,
    cut: () => sockets.forEach((s) => s.terminate()),
    async down() {
      deadPort = await freePort();
    },
    up() {
      deadPort = undefined;
    },
  };
}

/** Alice's Workload cache over sockets the test can cut, live, after applying `initial`. */
async function cutWorkloadCache(t: TestContext, initial: string[]) {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const sockets = cuttableSockets(server.url);
  const client = new LatticeClient({ server: server.url, token: alice.options.token!, webSocket: sockets.factory });
  await alice.apply(initial.map((name) => workload(name)));
  const cache = new WatchCache<Workload>({ client, kind: 'Workload', ...FAST });
  const statuses = startCache(t, cache);
  await waitFor(() => cache.status === 'live', 10_000, 'live');
  return { server, alice, sockets, cache, statuses };
}

function startCache<T extends Workload | Agent>(t: TestContext, cache: WatchCache<T>): WatchCacheStatus[] {
  const statuses: WatchCacheStatus[] = [cache.status];
  cache.subscribe(() => {
    if (statuses.at(-1) !== cache.status) statuses.push(cache.status);
  });
  cache.start();
  t.after(() => cache.stop());
  return statuses;
}

const FAST = { retryMs: 50, maxRetryMs: 200 };

test('lists once, then follows ADDED/MODIFIED/DELETED in a stable namespace/name order', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('web'), workload('api')]);
  const cache = new WatchCache<Workload>({ client: alice.withToken(alice.options.token!), kind: 'Workload', ...FAST });
  const statuses = startCache(t, cache);
  await waitFor(() => cache.status === 'live' && cache.synced, 10_000, 'the cache to be live');
  assert.deepEqual(names(cache), ['api', 'web']);
  const before = cache.list();
  assert.equal(cache.list(), before, 'the same array while nothing changes');

  await alice.apply([workload('cache'), { ...workload('web', { tier: 'front' }) }]);
  await alice.delete('workloads', 'alice', 'api');
  await waitFor(() => names(cache).join() === 'cache,web' && cache.get('alice', 'web')?.metadata.labels?.tier === 'front', 10_000, 'the changes to arrive');
  // Current to the last Workload change (the delete's Event, one revision later, is another kind).
  assert.equal(Number(cache.resourceVersion), (await server.app.store.currentRevision()) - 1);
  assert.equal(cache.stats.lists, 1);
  assert.equal(cache.stats.watches, 1);
  assert.deepEqual(statuses, ['connecting', 'live']);
});

test('after a dropped connection it resumes from its revision: what changed meanwhile arrives, nothing is listed again', async (t) => {
  const { alice, sockets, cache, statuses } = await cutWorkloadCache(t, ['one', 'two']);

  await sockets.down();
  sockets.cut();
  await waitFor(() => cache.status === 'reconnecting' && cache.stats.watches >= 3, 10_000, 'reconnect attempts while the network is down');
  assert.match(cache.lastError?.message ?? '', /refused/);
  // While it is away: a create, an update and a delete.
  await alice.apply([workload('three'), workload('one', { changed: 'yes' })]);
  await alice.delete('workloads', 'alice', 'two');
  sockets.up();
  await waitFor(() => names(cache).join() === 'one,three' && cache.get('alice', 'one')?.metadata.labels?.changed === 'yes', 10_000, 'the missed changes');
  assert.equal(cache.stats.lists, 1, 'resumed, not listed again');
  assert.equal(cache.stats.gone, 0);
  assert.equal(cache.status, 'live');
  assert.equal(cache.lastError, undefined);
  assert.deepEqual(statuses, ['connecting', 'live', 'reconnecting', 'live']);
});

test('when its revision was compacted away (ERROR 410) it lists again and drops what was deleted meanwhile', async (t) => {
  const { server, alice, sockets, cache } = await cutWorkloadCache(t, ['keep', 'doomed']);
  const oldRevision = Number(cache.resourceVersion);

  await sockets.down();
  sockets.cut();
  await waitFor(() => cache.status === 'reconnecting', 10_000, 'reconnecting');
  await alice.delete('workloads', 'alice', 'doomed');
  await alice.apply([workload('newcomer')]);
  const now = await server.app.store.currentRevision();
  await server.app.store.compact(now);
  assert.ok(now > oldRevision);
  sockets.up();

  await waitFor(() => cache.stats.gone === 1 && cache.status === 'live' && names(cache).join() === 'keep,newcomer', 10_000, 'a relist after 410');
  assert.equal(cache.stats.lists, 2);
  assert.equal(cache.resourceVersion, String(now));
  // Still following after the relist.
  await alice.apply([workload('later')]);
  await waitFor(() => names(cache).includes('later'), 10_000, 'a change after the relist');
});

test('a server restart: reconnecting while it is away, live again after, resumed without a relist', async (t) => {
  const cp = restartableControlPlane({ reconciler: false });
  t.after(() => cp.stop());
  const { url } = await cp.start();
  const anonymous = new LatticeClient({ server: url, webSocket: nodeWebSocket });
  const admin = anonymous.withToken((await anonymous.login(ADMIN.username, ADMIN.password)).accessToken);
  await admin.apply([workload('before')]);
  const cache = new WatchCache<Workload>({ client: admin, kind: 'Workload', ...FAST });
  const statuses = startCache(t, cache);
  await waitFor(() => cache.status === 'live' && cache.size === 1, 10_000, 'live');

  await cp.stop();
  await waitFor(() => cache.status === 'reconnecting', 10_000, 'reconnecting while the server is down');
  await waitFor(() => /not answering/.test(cache.lastError?.message ?? ''), 10_000, 'an error that says the server is away');
  await cp.start();
  await waitFor(() => cache.status === 'live', 15_000, 'live again');
  await admin.apply([workload('after')]);
  await waitFor(() => names(cache).join() === 'after,before', 10_000, 'a change after the restart');
  assert.equal(cache.stats.lists, 1);
  assert.deepEqual(statuses, ['connecting', 'live', 'reconnecting', 'live']);
});

test('stop() keeps the objects and revision; start() resumes from them', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('a')]);
  const cache = new WatchCache<Workload>({ client: alice, kind: 'Workload', ...FAST });
  startCache(t, cache);
  await waitFor(() => cache.status === 'live', 10_000, 'live');
  cache.stop();
  assert.equal(cache.status, 'stopped');
  await alice.apply([workload('b')]);
  assert.deepEqual(names(cache), ['a'], 'a stopped cache does not change');
  cache.start();
  await waitFor(() => names(cache).join() === 'a,b' && cache.status === 'live', 10_000, 'resumed');
  assert.equal(cache.stats.lists, 1);
  assert.equal(cache.stats.watches, 2);
});

test("a tenant's cache never holds another tenant's objects; cluster-scoped kinds (agents) work too", async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const { client: bob } = await server.user('bob');
  const admin = await server.admin();
  const aliceCache = new WatchCache<Workload>({ client: alice, kind: 'Workload', ...FAST });
  const agents = new WatchCache<Agent>({ client: admin, kind: 'Agent', ...FAST });
  startCache(t, aliceCache);
  startCache(t, agents);
  await bob.apply([workload('bobs-secret-project')]);
  await admin.apply([{ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'laptop', labels: { zone: 'home' } }, spec: {} }]);
  await alice.apply([workload('alices')]);
  await waitFor(() => names(aliceCache).includes('alices'), 10_000, "alice's workload");
  await waitFor(() => agents.get(undefined, 'laptop'), 10_000, 'the agent');
  assert.deepEqual(names(aliceCache), ['alices']);
});

test('a token the server refuses: the error says 401 and it keeps retrying (backing off) rather than giving up', async (t) => {
  const server = await startTestServer(t);
  const client = new LatticeClient({ server: server.url, token: 'not-a-token', webSocket: nodeWebSocket });
  const cache = new WatchCache<Workload>({ client, kind: 'Workload', ...FAST });
  startCache(t, cache);
  await waitFor(() => cache.stats.lists >= 3, 10_000, 'several attempts');
  assert.ok(cache.lastError instanceof LatticeApiError);
  assert.equal(cache.lastError.status, 401);
  assert.equal(cache.status, 'reconnecting');
  assert.equal(cache.synced, false);
});
