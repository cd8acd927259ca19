// Server-side apply over HTTP: all-or-nothing, preconditions, prune by inventory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatticeApiError } from '../../client/api-client.ts';
import { startTestServer } from '../support/server.ts';

const workload = (name: string, labels: Record<string, string> = { app: 'shop' }, namespace?: string) => ({
  apiVersion: 'lattice/v1',
  kind: 'Workload',
  metadata: { name, labels, ...(namespace ? { namespace } : {}) },
  spec: { command: ['sleep', '60'] },
});
const secret = (name: string, data: Record<string, string>) => ({ apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name }, spec: { data } });

const status = (code: number, message?: RegExp) => (error: unknown) =>
  error instanceof LatticeApiError && error.status === code && (!message || message.test(error.body.message));

test('prune deletes only what the apply set applied before, never look-alikes', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  // Same labels, applied outside the set: must survive every prune.
  await alice.apply([workload('hand-made')]);
  const first = await alice.apply([workload('front'), workload('back'), secret('keys', { a: '1' })], { applySet: 'shop', prune: true });
  assert.deepEqual(first.results.map((r) => r.action), ['created', 'created', 'created']);

  const dry = await alice.apply([workload('front')], { applySet: 'shop', prune: true, dryRun: true });
  assert.deepEqual(dry.results.map((r) => `${r.kind}/${r.name} ${r.action}`), ['Workload/front unchanged', 'Workload/back pruned', 'Secret/keys pruned']);
  assert.equal((await alice.list('workloads', { namespace: 'alice' })).items.length, 3, 'a dry run prunes nothing');

  const second = await alice.apply([workload('front')], { applySet: 'shop', prune: true });
  assert.deepEqual(second.results.map((r) => `${r.name} ${r.action}`), ['front unchanged', 'back pruned', 'keys pruned']);
  assert.deepEqual((await alice.list('workloads', { namespace: 'alice' })).items.map((w) => w.metadata.name), ['front', 'hand-made']);
  assert.deepEqual((await alice.list('secrets', { namespace: 'alice' })).items, []);
  const events = await alice.list('events', { namespace: 'alice', fieldSelector: 'involvedObject.name=back' });
  assert.deepEqual(events.items.map((e) => (e.spec as { reason: string }).reason), ['Pruned']);

  // Another set, and another user's set of the same name, are separate inventories.
  await alice.apply([workload('other')], { applySet: 'other', prune: true });
  const { client: bob } = await server.user('bob');
  await bob.apply([workload('front')], { applySet: 'shop', prune: true });
  await bob.apply([workload('bob-only')], { applySet: 'shop', prune: true });
  assert.deepEqual((await alice.list('workloads', { namespace: 'alice' })).items.map((w) => w.metadata.name), ['front', 'hand-made', 'other']);
  assert.deepEqual((await bob.list('workloads', { namespace: 'bob' })).items.map((w) => w.metadata.name), ['bob-only']);
});

test('without prune, an apply set remembers what was left out so a later prune removes it', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('a'), workload('b')], { applySet: 'set' });
  await alice.apply([workload('a')], { applySet: 'set' });
  assert.equal((await alice.list('workloads', { namespace: 'alice' })).items.length, 2);
  const pruned = await alice.apply([workload('a')], { applySet: 'set', prune: true });
  assert.deepEqual(pruned.results.map((r) => `${r.name} ${r.action}`), ['a unchanged', 'b pruned']);
  await assert.rejects(alice.apply([workload('a')], { prune: true }), status(400, /applySet/));
});

test('nothing is written when any object is invalid, forbidden or duplicated', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const before = await server.app.store.currentRevision();
  const invalid = { ...workload('bad'), spec: { command: ['x'], replicas: -1 } };
  await assert.rejects(alice.apply([workload('good'), invalid]), (e: unknown) => status(422)(e) && (e as LatticeApiError).body.details.some((d) => d.path === '[1].spec.replicas'));
  await assert.rejects(alice.apply([workload('good'), workload('good')]), status(422, /appears twice/));
  await assert.rejects(alice.apply([workload('good'), workload('elsewhere', {}, 'bob')]), status(403, /namespace "bob"/));
  assert.equal(await server.app.store.currentRevision(), before);
  await assert.rejects(alice.get('workloads', 'alice', 'good'), status(404));
});

test('ifRevision and a manifest resourceVersion refuse with 409 when the object moved', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const first = await alice.apply([workload('web')]);
  await alice.apply([workload('web', { app: 'shop', tier: 'front' })], { ifRevision: first.revision });
  const moved = await alice.get('workloads', 'alice', 'web');
  await assert.rejects(alice.apply([workload('web', { app: 'other' })], { ifRevision: first.revision }), status(409, /after ifRevision=/));
  await assert.rejects(
    alice.apply([{ ...workload('web', { app: 'other' }), metadata: { name: 'web', labels: { app: 'other' }, resourceVersion: String(first.revision) } }]),
    status(409, /not \d+ as the manifest requires/),
  );
  assert.deepEqual(await alice.get('workloads', 'alice', 'web'), moved);
  const ok = await alice.apply([{ ...workload('web', { app: 'other' }), metadata: { name: 'web', labels: { app: 'other' }, resourceVersion: moved.metadata.resourceVersion } }]);
  assert.equal(ok.results[0]!.action, 'configured');
});

test('apply keeps status and controller finalizers, and replaces labels wholesale', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('web', { app: 'shop', tier: 'front' })]);
  const key = { kind: 'Workload', namespace: 'alice', name: 'web' };
  const live = await server.app.store.get(key);
  await server.app.store.update({ ...live, metadata: { ...live.metadata, finalizers: ['lattice/instances'] } });
  await server.app.store.updateStatus(key, { phase: 'Running' });
  await alice.apply([workload('web', { app: 'shop' })]);
  const after = await server.app.store.get(key);
  assert.deepEqual(after.metadata.labels, { app: 'shop' }, 'a label deleted from the file is deleted');
  assert.deepEqual(after.metadata.finalizers, ['lattice/instances']);
  assert.deepEqual(after.status, { phase: 'Running' });
});

test("a server that runs the reconciler creates Workloads with its finalizer, sparing it a write; one without leaves them bare", async (t) => {
  for (const reconciler of [true, false]) {
    const server = await startTestServer(t, { reconciler });
    const { client: alice } = await server.user('alice');
    const from = await server.app.store.currentRevision();
    await alice.apply([workload('web'), secret('keys', { a: '1' })]);
    const watch = server.app.store.watch({ fromRevision: from, kind: 'Workload' });
    const added = await watch[Symbol.asyncIterator]().next();
    watch.close();
    const event = added.value as { type: string; object: { metadata: { name: string; generation?: number; finalizers?: string[] } } };
    assert.equal(event.type, 'ADDED');
    assert.deepEqual(event.object.metadata.finalizers, reconciler ? ['lattice.dev/instances-stopped'] : undefined, `reconciler ${reconciler}: as created`);
    assert.equal((await server.app.store.get({ kind: 'Secret', namespace: 'alice', name: 'keys' })).metadata.finalizers, undefined, 'only Workloads');
  }
});

test('a dry run of a secret shows which keys change, never their values', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([secret('db', { password: 'old-secret-value' })]);
  const dry = await alice.apply([secret('db', { password: 'new-secret-value', user: 'app' })], { dryRun: true });
  assert.equal(dry.results[0]!.action, 'configured');
  const text = JSON.stringify(dry);
  assert.ok(!text.includes('old-secret-value') && !text.includes('new-secret-value') && !text.includes('"app"'), text);
  assert.deepEqual(dry.results[0]!.diff!.map((d) => `${d.op} ${d.path}`), ['replace spec.data.password', 'add spec.data.user']);
});

test('JSON bodies: one object, an array, or a List; YAML multi-document with empty documents', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  assert.equal((await alice.apply([workload('one')])).results.length, 1);
  const list = await alice.request<{ results: unknown[] }>('POST', '/apply', { body: { kind: 'List', items: [workload('two'), workload('three')] } });
  assert.equal(list.results.length, 2);
  const single = await alice.request<{ results: { name: string }[] }>('POST', '/apply', { body: workload('four') });
  assert.equal(single.results[0]!.name, 'four');
  const yaml = await alice.apply(['---', 'apiVersion: lattice/v1', 'kind: Workload', 'metadata: {name: five}', 'spec: {command: [sleep, "1"]}', '---', '---', ''].join('\n'));
  assert.deepEqual(yaml.results.map((r) => r.name), ['five']);
});
