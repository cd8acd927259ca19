// Join tokens and agent registration: scope (private/shared), credentials, refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { LatticeApiError } from '../../client/api-client.ts';
import { rawRequest, startTestServer } from '../support/server.ts';

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
  assert.deepEqual(agent.spec, { unschedulable: false, owner: 'alice' });
  assert.deepEqual(agent.metadata.labels, { zone: 'home' });
  assert.deepEqual((await server.app.store.get({ kind: 'Agent', name: 'vps-1' })).spec, { unschedulable: false });

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
