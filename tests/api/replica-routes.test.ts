// The routes replicas ask each other (/internal/v1): only the replica credential opens them, and it
// opens nothing else; a wrong one is refused. (Forwarding through them, end to end:
// tests/e2e/replicas.test.ts.) And /readyz names the replica.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawRequest, startTestServer } from '../support/server.ts';

const stats = '/internal/v1/agents/nobody/instances/some-uid/stats';

test('internal routes take the replica credential and nothing else; it opens nothing else', async (t) => {
  const server = await startTestServer(t);
  const { accessToken } = await server.user('alice');
  const credential = server.app.auth.replicaCredential;

  const anonymous = await rawRequest(server.url, { path: stats });
  assert.equal(anonymous.status, 401);

  const asUser = await rawRequest(server.url, { path: stats, token: accessToken });
  assert.equal(asUser.status, 403, 'a user token does not open a replica route');
  assert.match(asUser.body.message!, /only for the control plane's replicas/);

  const forged = await rawRequest(server.url, { path: stats, token: `lrp_${'x'.repeat(43)}` });
  assert.equal(forged.status, 401, 'a wrong replica credential is refused');
  assert.match(forged.body.message!, /replica credential is not valid/);

  const onApi = await rawRequest(server.url, { path: '/api/v1/namespaces/alice/workloads', token: credential });
  assert.equal(onApi.status, 403, 'the replica credential opens no API route');

  // The right credential reaches the agent's requests: this agent is not connected here.
  const asReplica = await rawRequest(server.url, { path: stats, token: credential });
  assert.equal(asReplica.status, 502);
  assert.equal(asReplica.body.kind, 'notConnected');
  assert.match(String(asReplica.body.message), /agent nobody is not connected/);

  const logs = await rawRequest(server.url, { path: '/internal/v1/agents/nobody/instances/some-uid/logs?tail=5&window=65536', token: credential });
  assert.equal(logs.status, 502);
  assert.equal(logs.body.kind, 'notConnected');
});

test('/readyz names this replica', async (t) => {
  const server = await startTestServer(t);
  const ready = await rawRequest(server.url, { path: '/readyz' });
  assert.equal(ready.status, 200);
  assert.equal(ready.body.replica, server.app.replicaId);
  assert.match(String(ready.body.replica), /-[0-9a-f]{6}$/);
});
