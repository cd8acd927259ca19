// The routes the CLI added: rollout history, join token list/revoke, the dry run's placement
// preview and emptying an apply set with prune. Each stays inside the caller's tenancy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatticeApiError } from '../../client/api-client.ts';
import type { Workload } from '../../schemas/types.gen.ts';
import { startTestServer } from '../support/server.ts';

const workload = (name: string, replicas = 1) => ({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name }, spec: { command: ['sleep', '60'], replicas } });
const status = (code: number, message?: RegExp) => (error: unknown) => error instanceof LatticeApiError && error.status === code && (!message || message.test(error.body.message));

test('rollout history: the spec per generation, own namespaces only', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const { client: bob } = await server.user('bob');
  await alice.apply([workload('web', 1)]);
  await alice.apply([workload('web', 3)]);
  const { items } = await alice.history('alice', 'web');
  assert.deepEqual(items.map((h) => [h.generation, (h.spec as Workload['spec']).replicas]), [[1, 1], [2, 3]]);
  assert.ok(items.every((h) => h.revision > 0 && !Number.isNaN(Date.parse(h.createdAt))));
  await assert.rejects(bob.history('alice', 'web'), status(403, /no access to namespace "alice"/));
  await assert.rejects(alice.history('alice', 'nope'), status(404, /not found/));
  await assert.rejects(server.client.history('alice', 'web'), status(401));
});

test('join tokens: listed without their secret, revoked only by their creator', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const { client: bob } = await server.user('bob');
  const created = await alice.createJoinToken(2);
  const id = /^ljt_(.+)\.[^.]+$/.exec(created.token)![1]!;
  const { items } = await alice.listJoinTokens();
  assert.deepEqual(items.map((i) => [i.id, i.scope, i.expiresAt]), [[id, 'private', created.expiresAt]]);
  assert.ok(!JSON.stringify(items).includes(created.token.split('.').at(-1)!), 'the secret is never listed');
  assert.deepEqual((await bob.listJoinTokens()).items, [], "another user's tokens are not listed");
  await assert.rejects(bob.revokeJoinToken(id), status(404), "another user's token cannot be revoked");
  await alice.revokeJoinToken(id);
  assert.deepEqual((await alice.listJoinTokens()).items, []);
  await assert.rejects(server.client.request('POST', '/agents/register', { body: { joinToken: created.token, name: 'laptop' } }), status(401, /join token is not valid/));
  await assert.rejects(alice.revokeJoinToken(id), status(404, /already revoked/));
});

test('a dry run of a changed workload previews its placement; a real apply carries none', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const dry = await alice.apply([workload('web', 2)], { dryRun: true });
  assert.deepEqual(dry.results[0]!.placement, { agents: [], pending: [{ replicas: 2, reason: 'no agents have joined' }] });
  const real = await alice.apply([workload('web', 2)]);
  assert.equal(real.results[0]!.placement, undefined);
  const unchanged = await alice.apply([workload('web', 2)], { dryRun: true });
  assert.equal(unchanged.results[0]!.placement, undefined, 'nothing to place when nothing changes');
});

test('an empty apply with prune empties the set; without prune it is still refused', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('a'), workload('b')], { applySet: 'site', prune: true });
  await assert.rejects(alice.apply([], { applySet: 'site' }), status(400, /nothing to apply/));
  const dry = await alice.apply([], { applySet: 'site', prune: true, dryRun: true });
  assert.deepEqual(dry.results.map((r) => `${r.name} ${r.action}`), ['a pruned', 'b pruned']);
  const emptied = await alice.apply([], { applySet: 'site', prune: true });
  assert.deepEqual(emptied.results.map((r) => `${r.name} ${r.action}`), ['a pruned', 'b pruned']);
  assert.deepEqual((await alice.list('workloads', { namespace: 'alice' })).items, []);
});
