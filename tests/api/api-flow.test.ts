// The API as a user meets it, over real HTTP on a loopback port.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LatticeApiError } from '../../client/api-client.ts';
import { build } from '../../controlplane/app.ts';
import type { Workload } from '../../schemas/types.gen.ts';
import { rawRequest, startTestServer } from '../support/server.ts';

const webYaml = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8');

const refused = (status: number, message?: RegExp) => (error: unknown) =>
  error instanceof LatticeApiError && error.status === status && (!message || message.test(error.body.message));

test('register → login → apply → get → list → dry-run diff → stale update 409 → delete', async (t) => {
  const server = await startTestServer(t);
  assert.deepEqual(await server.client.register('alice', 'alice-password'), { username: 'alice', namespace: 'alice' });
  const tokens = await server.client.login('alice', 'alice-password');
  assert.equal(tokens.tokenType, 'Bearer');
  assert.equal(tokens.expiresIn, 900);
  const alice = server.client.withToken(tokens.accessToken);
  assert.deepEqual(await alice.whoami(), { username: 'alice', role: 'user', namespaces: ['alice'] });

  const applied = await alice.apply(webYaml);
  assert.deepEqual(applied.results, [{ apiVersion: 'lattice/v1', kind: 'Workload', namespace: 'alice', name: 'web', action: 'created' }]);
  const web = await alice.get<Workload>('workloads', 'alice', 'web');
  assert.equal(web.metadata.resourceVersion, String(applied.revision));
  assert.equal(web.spec.replicas, 2);
  assert.equal(web.spec.ports?.[0]?.protocol, 'http');

  const again = await alice.apply(webYaml);
  assert.equal(again.results[0]!.action, 'unchanged', 'defaults make the same file a no-op');
  assert.equal(again.revision, applied.revision, 'an unchanged apply writes nothing');

  const list = await alice.list<Workload>('workloads', { namespace: 'alice' });
  assert.equal(list.kind, 'WorkloadList');
  assert.equal(list.metadata.resourceVersion, String(applied.revision));
  assert.deepEqual(list.items.map((w) => w.metadata.name), ['web']);
  assert.equal((await alice.list('workloads')).items.length, 1, 'across the caller namespaces');

  const changed = webYaml.replace('replicas: 2', 'replicas: 3').replace('app: web', 'app: web\n    tier: front');
  const dry = await alice.apply(changed, { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.results[0]!.action, 'configured');
  assert.deepEqual(dry.results[0]!.diff, [
    { path: 'metadata.labels.tier', op: 'add', after: 'front' },
    { path: 'spec.replicas', op: 'replace', before: 2, after: 3 },
  ]);
  assert.equal((await alice.get<Workload>('workloads', 'alice', 'web')).spec.replicas, 2, 'a dry run writes nothing');

  const configured = await alice.apply(changed);
  assert.equal(configured.results[0]!.action, 'configured');
  const current = await alice.get<Workload>('workloads', 'alice', 'web');
  assert.equal(current.metadata.generation, 2);

  await assert.rejects(alice.put('workloads', 'alice', 'web', { ...web, spec: { ...web.spec, replicas: 5 } }), refused(409, /resourceVersion/));
  const put = await alice.put<Workload>('workloads', 'alice', 'web', { ...current, spec: { ...current.spec, replicas: 5 } });
  assert.equal(put.spec.replicas, 5);
  assert.equal(put.metadata.generation, 3);

  await assert.rejects(alice.delete('workloads', 'alice', 'web', web.metadata.resourceVersion), refused(409));
  const deleted = await alice.delete<Workload>('workloads', 'alice', 'web');
  assert.equal(deleted.metadata.name, 'web');
  await assert.rejects(alice.get('workloads', 'alice', 'web'), refused(404));
  const events = await alice.list('events', { namespace: 'alice', fieldSelector: 'involvedObject.kind=Workload,involvedObject.name=web' });
  assert.deepEqual(events.items.map((e) => (e.spec as { reason: string }).reason), ['Deleted']);
});

test('refresh rotates the refresh token; reusing a rotated one revokes the whole session', async (t) => {
  const server = await startTestServer(t);
  const { client: alice, refreshToken: first } = await server.user('alice');
  const second = await server.client.refresh(first);
  assert.notEqual(second.refreshToken, first);
  const fresh = server.client.withToken(second.accessToken);
  assert.equal((await fresh.whoami()).username, 'alice');

  await assert.rejects(server.client.refresh(first), refused(401, /already used/));
  await assert.rejects(server.client.refresh(second.refreshToken), refused(401, /revoked/), 'the whole family is revoked');
  await assert.rejects(fresh.whoami(), refused(401, /revoked/), 'and the access tokens of the session');
  await assert.rejects(alice.whoami(), refused(401, /revoked/), 'including the first one');
});

test('logout revokes the session: its refresh token and access token stop working', async (t) => {
  const server = await startTestServer(t);
  const { client: alice, refreshToken } = await server.user('alice');
  await alice.logout(refreshToken);
  await assert.rejects(alice.whoami(), refused(401, /revoked/));
  await assert.rejects(server.client.refresh(refreshToken), refused(401, /revoked/));
  const again = await server.client.login('alice', 'alice-password');
  assert.equal((await server.client.withToken(again.accessToken).whoami()).username, 'alice', 'a new login works');
});

test('API tokens: created once, listed without secret, usable, revocable', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const created = await alice.request<{ id: string; token: string; name: string }>('POST', '/auth/tokens', { body: { name: 'ci', expiresInDays: 30 } });
  assert.match(created.token, /^lat_/);
  const automation = server.client.withToken(created.token);
  assert.equal((await automation.whoami()).username, 'alice');
  await automation.apply(webYaml);
  const listed = await alice.request<{ items: Record<string, unknown>[] }>('GET', '/auth/tokens');
  assert.deepEqual(listed.items.map((i) => i.name), ['ci']);
  assert.ok(listed.items.every((i) => !('token' in i) && !('hash' in i)));
  await alice.request('DELETE', `/auth/tokens/${created.id}`);
  await assert.rejects(automation.whoami(), refused(401, /revoked/));
  await assert.rejects(alice.request('DELETE', `/auth/tokens/${created.id}`), refused(404));
});

test('registration rules: names, passwords, duplicates, closed registration', async (t) => {
  const server = await startTestServer(t);
  await server.client.register('alice', 'alice-password');
  await assert.rejects(server.client.register('alice', 'another-password'), refused(409, /taken/));
  await assert.rejects(server.client.register('Alice', 'alice-password'), refused(400, /username/));
  await assert.rejects(server.client.register('bob', 'short'), refused(400, /password: must be at least 8/));
  await assert.rejects(server.client.register('system', 'system-password'), refused(400, /reserved/));
  await assert.rejects(server.client.login('alice', 'wrong-password'), refused(401, /wrong username or password/));
  await assert.rejects(server.client.login('nobody', 'wrong-password'), refused(401, /wrong username or password/));
  // JSON types are kept: a number is not a password, whatever its digits.
  const numeric = await rawRequest(server.url, { method: 'POST', path: '/api/v1/auth/register', contentType: 'application/json', body: '{"username":"dora","password":12345678}' });
  assert.equal(numeric.status, 400);
  assert.match(numeric.body.message ?? '', /password/);
  await assert.rejects(server.client.login('dora', '12345678'), refused(401), 'and nothing was created');

  const closed = await startTestServer(t, { registration: 'closed' });
  await assert.rejects(closed.client.register('carol', 'carol-password'), refused(403, /closed/));
  const admin = await closed.admin();
  assert.deepEqual(await admin.whoami(), { username: 'root-admin', role: 'admin', namespaces: ['root-admin'] });
});

test('agents are cluster-scoped: shared ones visible to all, private ones to their owner', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const { client: bob } = await server.user('bob');
  await server.app.store.create({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'shared-1' }, spec: {} });
  await server.app.store.create({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'alice-laptop' }, spec: { owner: 'alice' } });
  assert.deepEqual((await alice.list('agents')).items.map((a) => a.metadata.name), ['alice-laptop', 'shared-1']);
  assert.deepEqual((await bob.list('agents')).items.map((a) => a.metadata.name), ['shared-1']);
  assert.equal((await alice.get('agents', undefined, 'alice-laptop')).metadata.name, 'alice-laptop');
  await assert.rejects(bob.get('agents', undefined, 'alice-laptop'), refused(404));
  assert.equal((await (await server.admin()).list('agents')).items.length, 2);
});

test('health, readiness and metrics', async (t) => {
  const server = await startTestServer(t);
  assert.deepEqual((await rawRequest(server.url, { path: '/healthz' })).body, { status: 'ok' });
  const ready = await rawRequest(server.url, { path: '/readyz' });
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  const admin = await server.admin();
  await admin.apply(webYaml);
  const metrics = String((await rawRequest(server.url, { path: '/metrics', token: admin.options.token })).body);
  assert.match(metrics, /^lattice_http_requests_total\{method="POST",route="\/api\/v1\/apply",code="200"\} 1$/m);
  assert.match(metrics, /^lattice_store_revision 1$/m);
  assert.match(metrics, /^lattice_watchers 0$/m);
  assert.match(metrics, /^lattice_http_request_duration_seconds_bucket\{method="POST",route="\/api\/v1\/apply",le="\+Inf"\} 1$/m);
});

test('registration is rate-limited per address: past the limit 429 with retry-after, and nothing is created', async (t) => {
  const server = await startTestServer(t, { registrationsPerAddressPerHour: 3 });
  await server.client.register('reg-1', 'reg-password');
  await assert.rejects(server.client.register('reg-1', 'reg-password'), refused(409), 'a refused attempt counts too');
  await server.client.register('reg-2', 'reg-password');
  const limited = await rawRequest(server.url, { method: 'POST', path: '/api/v1/auth/register', contentType: 'application/json', body: JSON.stringify({ username: 'reg-3', password: 'reg-password' }) });
  assert.equal(limited.status, 429);
  assert.match(limited.body.message ?? '', /too many registrations from this address \(at most 3 an hour\)/);
  assert.ok(Number(limited.headers.get('retry-after')) > 3500);
  await assert.rejects(server.client.login('reg-3', 'reg-password'), refused(401), 'reg-3 was not created');
});

test('the configured admin username: a user who registered it first is a loud error at start, never silently kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-squat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite:${join(dir, 'lattice.db')}`;
  // An open server without a configured admin: a stranger takes the name.
  const open = await startTestServer(t, { db, bootstrapAdmin: undefined });
  await open.client.register('admin', 'squatter-password');
  await open.app.close();
  // The operator configures LATTICE_ADMIN_USERNAME=admin and restarts: the start refuses, saying why.
  await assert.rejects(build({ config: { db, logger: false, bcryptCost: 4, reconciler: false, bootstrapAdmin: { username: 'admin', password: 'operator-password' } } }), /admin username "admin" belongs to an existing user who is not an admin/);
});
