// Join tokens and agent registration: scope (private/shared), credentials, refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { LatticeApiError } from '../../client/api-client.ts';
import { ADMIN, rawRequest, startTestServer } from '../support/server.ts';

const register = (url: string, body: unknown) => rawRequest(url, { method: 'POST', path: '/api/v1/agents/register', contentType: 'application/json', body: JSON.stringify(body) });

function upgradeStatus(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/v1/agents/connect`, { headers: { authorization: `Bearer ${token}` } });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', reject);
  });
}

test("a user's join token makes a private agent, an admin's a shared one", async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const admin = await server.admin();
  const privateToken = await alice.request<{ token: string; scope: string }>('POST', '/auth/join-tokens', { body: {} });
  assert.equal(privateToken.scope, 'private');
  assert.match(privateToken.token, /^ljt_/);
  const sharedToken = await admin.request<{ token: string; scope: string }>('POST', '/auth/join-tokens', { body: { expiresInHours: 1 } });
  assert.equal(sharedToken.scope, 'shared');

  const laptop = await register(server.url, { joinToken: privateToken.token, name: 'alice-laptop', labels: { zone: 'home' } });
  assert.equal(laptop.status, 201);
  assert.equal(laptop.body.owner, 'alice');
  const vps = await register(server.url, { joinToken: sharedToken.token, name: 'vps-1' });
  assert.equal(vps.status, 201);
  assert.equal(vps.body.owner, undefined);
  const agent = await server.app.store.get({ kind: 'Agent', name: 'alice-laptop' });
  assert.deepEqual(agent.spec, { unschedulable: false, owner: 'alice', joinedBy: 'alice' });
  assert.deepEqual(agent.metadata.labels, { zone: 'home' });
  assert.deepEqual((await server.app.store.get({ kind: 'Agent', name: 'vps-1' })).spec, { unschedulable: false, joinedBy: ADMIN.username }, "shared, and the admin's processes run there");

  // The credential opens the agent connection and nothing else; user tokens never open it.
  assert.equal(await upgradeStatus(server.url, String(laptop.body.token)), 101);
  assert.equal((await rawRequest(server.url, { path: '/api/v1/workloads', token: String(laptop.body.token) })).status, 403);
  assert.equal(await upgradeStatus(server.url, alice.options.token!), 403);
});

test('registration refusals: bad or expired join token, a name owned by someone else, bad names', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const { client: bob } = await server.user('bob');
  const aliceToken = (await alice.request<{ token: string }>('POST', '/auth/join-tokens', { body: {} })).token;
  const bobToken = (await bob.request<{ token: string }>('POST', '/auth/join-tokens', { body: {} })).token;
  assert.equal((await register(server.url, { joinToken: 'ljt_nope.nope', name: 'x1' })).status, 401);
  assert.equal((await register(server.url, { joinToken: `${aliceToken}x`, name: 'x1' })).status, 401);
  assert.equal((await register(server.url, { joinToken: aliceToken, name: 'Bad_Name' })).status, 422);
  const first = await register(server.url, { joinToken: aliceToken, name: 'laptop' });
  assert.equal(first.status, 201);
  const taken = await register(server.url, { joinToken: bobToken, name: 'laptop' });
  assert.equal(taken.status, 409);
  assert.match(String(taken.body.message), /taken/);
  // The owner may register it again: the old credential stops working.
  const again = await register(server.url, { joinToken: aliceToken, name: 'laptop' });
  assert.equal(again.status, 201);
  assert.equal(await upgradeStatus(server.url, String(first.body.token)), 401);
  assert.equal(await upgradeStatus(server.url, String(again.body.token)), 101);
  await assert.rejects(alice.request('POST', '/auth/join-tokens', { body: { expiresInHours: 0 } }), (e: unknown) => e instanceof LatticeApiError && e.status === 400);

  const expiring = await startTestServer(t);
  const { client: carol } = await expiring.user('carol');
  const short = (await carol.request<{ token: string }>('POST', '/auth/join-tokens', { body: { expiresInHours: 1 } })).token;
  const record = await expiring.app.store.auth.findJoinToken(short.slice(4, short.lastIndexOf('.')));
  assert.ok(record && Date.parse(record.expiresAt) - Date.now() <= 3_600_000 + 5_000);
});

test('LATTICE_AGENT_JOIN_TOKEN: the configured token makes shared agents; a near miss is refused', async (t) => {
  const configured = 'c'.repeat(40);
  const server = await startTestServer(t, { agentJoinToken: configured });
  const joined = await register(server.url, { joinToken: configured, name: 'compose-agent' });
  assert.equal(joined.status, 201);
  assert.equal(joined.body.owner, undefined, 'a shared agent');
  assert.equal((await register(server.url, { joinToken: `${configured}x`, name: 'other' })).status, 401);
  assert.equal(await upgradeStatus(server.url, String(joined.body.token)), 101, 'its credential opens the agent connection');
});

test('agents that connect together write their heartbeats spread over the period, not in one burst', async (t) => {
  const periodMs = 1000;
  const server = await startTestServer(t, { agentTimings: { graceMs: 15_000, evictionMs: 30_000, heartbeatPersistMs: periodMs } });
  const admin = await server.admin();
  const { token: joinToken } = await admin.request<{ token: string }>('POST', '/auth/join-tokens', { body: {} });
  const names = Array.from({ length: 16 }, (_, i) => `agent-${i}`);
  const credentials = await Promise.all(names.map(async (name) => (await register(server.url, { joinToken, name })).body.token as string));

  // Each agent's writes to its Agent object: the hello's, then its heartbeats'.
  const writes = new Map(names.map((name) => [name, [] as number[]]));
  const watch = server.app.store.watch({ kind: 'Agent', fromRevision: await server.app.store.currentRevision(), bookmarkIntervalMs: 60_000 });
  t.after(() => watch.close());
  void (async () => {
    for await (const event of watch) if (event.type === 'MODIFIED') writes.get(event.object.metadata.name)?.push(Date.now());
  })();
  const sockets = await Promise.all(
    names.map(
      (name, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/agents/connect`, { headers: { authorization: `Bearer ${credentials[i]}` } });
          socket.once('open', () => {
            socket.send(JSON.stringify({ type: 'hello', agent: { capacity: { cpu: '1', memory: '1Gi' }, runtimes: ['process'], version: 'test', address: '127.0.0.1' }, instances: [] }));
            resolve(socket);
          });
          socket.once('error', reject);
        }),
    ),
  );
  const beat = setInterval(() => sockets.forEach((s) => s.send(JSON.stringify({ type: 'heartbeat' }))), 25);
  t.after(() => {
    clearInterval(beat);
    for (const socket of sockets) socket.close();
  });
  await new Promise((resolve) => setTimeout(resolve, 2.5 * periodMs));

  // The hello's own write (Ready) is each agent's first; its heartbeat writes follow.
  const offsets = names.map((name) => {
    const [hello, firstBeat] = writes.get(name)!;
    assert.ok(hello !== undefined && firstBeat !== undefined && firstBeat - hello <= periodMs + 400, `${name} writes a heartbeat within a period of its hello`);
    return firstBeat - hello;
  });
  // Uniform over the period, 16 first writes spread across most of it; in one burst they would all land within a few heartbeats.
  assert.ok(Math.max(...offsets) - Math.min(...offsets) >= periodMs / 3, `first heartbeat writes at ${offsets.sort((a, b) => a - b).join(', ')} ms after each hello`);
});
