// Per-user limits on what a tenant stores, over the real API: objects per namespace, replicas per
// workload and in all. Past one: 429 naming the limit and its variable, and nothing written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatticeApiError, type LatticeClient } from '../../client/api-client.ts';
import { configFromEnv } from '../../controlplane/config.ts';
import type { Workload } from '../../schemas/types.gen.ts';
import { startTestServer } from '../support/server.ts';

function workload(name: string, replicas = 1) {
  return { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name }, spec: { replicas, image: 'busybox', command: ['sleep', '600'] } };
}

function secret(name: string) {
  return { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name }, spec: { data: { key: 'value' } } };
}

async function refusal(promise: Promise<unknown>): Promise<LatticeApiError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LatticeApiError, String(error));
  return error;
}

async function names(client: LatticeClient, plural: string, namespace: string): Promise<string[]> {
  return (await client.list(plural, { namespace })).items.map((o) => o.metadata.name).sort();
}

/** The usage count follows the store's feed: wait until a deletion has reached it. */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

test('objects per namespace: past the limit an apply is refused whole with 429, naming it; updates and deletes still work; admins are not limited', async (t) => {
  const server = await startTestServer(t, { limits: { objectsPerNamespace: 3 } });
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('a'), workload('b'), secret('s')]);

  const refused = await refusal(alice.apply([workload('a', 2), workload('c')]));
  assert.equal(refused.status, 429);
  assert.match(refused.message, /namespace alice holds 3 objects .* at most 3 \(LATTICE_OBJECTS_PER_NAMESPACE\); this apply adds 1/);
  assert.deepEqual(await names(alice, 'workloads', 'alice'), ['a', 'b'], 'nothing of the refused apply was written');
  assert.equal((await alice.get<Workload>('workloads', 'alice', 'a')).spec.replicas, 1);
  assert.equal((await refusal(alice.apply([workload('c')], { dryRun: true }))).status, 429, 'a dry run is admitted like the real apply');

  const configured = await alice.apply([workload('a', 2)]);
  assert.equal(configured.results[0]!.action, 'configured', 'changing what exists adds nothing');
  await alice.delete('workloads', 'alice', 'b');
  await eventually(async () => {
    assert.equal((await alice.apply([workload('c')])).results[0]!.action, 'created');
  });

  const admin = await server.admin();
  const adminNamespace = (await admin.whoami()).namespaces[0]!;
  await admin.apply(['w1', 'w2', 'w3', 'w4', 'w5'].map((n) => ({ ...workload(n), metadata: { name: n, namespace: adminNamespace } })));
  assert.equal((await names(admin, 'workloads', adminNamespace)).length, 5);
});

test('replicas: per workload and across a user\'s namespaces; only what adds is refused, and scaling down always works', async (t) => {
  const server = await startTestServer(t, { limits: { replicasPerWorkload: 5, replicasPerUser: 8 } });
  const { client: bob } = await server.user('bob');

  const tooMany = await refusal(bob.apply([workload('big', 6)]));
  assert.equal(tooMany.status, 429);
  assert.match(tooMany.message, /Workload bob\/big: spec\.replicas 6 is more than the 5 replicas a workload may have \(LATTICE_REPLICAS_PER_WORKLOAD\)/);
  assert.deepEqual(await names(bob, 'workloads', 'bob'), []);

  await bob.apply([workload('a', 5), workload('b', 3)]);
  const overTotal = await refusal(bob.apply([workload('c', 1)]));
  assert.equal(overTotal.status, 429);
  assert.match(overTotal.message, /bob has 8 replicas across its namespaces and may have at most 8 \(LATTICE_REPLICAS_PER_USER\); this change adds 1/);

  // A PUT that raises replicas is admitted like an apply.
  const b = await bob.get<Workload>('workloads', 'bob', 'b');
  const put = await refusal(bob.put('workloads', 'bob', 'b', { ...b, spec: { ...b.spec, replicas: 4 } }));
  assert.equal(put.status, 429);
  assert.equal((await bob.get<Workload>('workloads', 'bob', 'b')).spec.replicas, 3);

  // Moving replicas between workloads in one apply adds nothing; scaling down frees room.
  await bob.apply([workload('a', 4), workload('b', 4)]);
  await bob.apply([workload('a', 3)]);
  assert.equal((await bob.apply([workload('c', 1)])).results[0]!.action, 'created');

  // Another user's replicas are theirs.
  const { client: carol } = await server.user('carol');
  await carol.apply([workload('a', 5)]);
});

test('concurrent applies of one user cannot pass a limit together: each is admitted against the others in flight', async (t) => {
  const server = await startTestServer(t, { limits: { replicasPerUser: 4 } });
  const { client: dana } = await server.user('dana');
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => dana.apply([workload(`w${i}`)])));
  const created = outcomes.filter((o) => o.status === 'fulfilled').length;
  const refused = outcomes.filter((o) => o.status === 'rejected' && (o.reason as LatticeApiError).status === 429).length;
  assert.equal(created, 4);
  assert.equal(refused, 8);
  assert.equal((await names(dana, 'workloads', 'dana')).length, 4);
});

test('limits come from LATTICE_* variables; a value that is not a positive integer is an error naming it', () => {
  assert.deepEqual(configFromEnv({ LATTICE_OBJECTS_PER_NAMESPACE: '50', LATTICE_REPLICAS_PER_WORKLOAD: '7', LATTICE_REPLICAS_PER_USER: '70' }).limits, {
    objectsPerNamespace: 50,
    replicasPerWorkload: 7,
    replicasPerUser: 70,
  });
  assert.throws(() => configFromEnv({ LATTICE_REPLICAS_PER_USER: '0' }), /LATTICE_REPLICAS_PER_USER must be a positive integer/);
});
