// The reconciler over a real store: many workloads at once (reconciles run concurrently, so
// placements must be counted before their writes come back, or an agent overfills), and its caches.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AgentLink } from '../../reconciler/agent-link.ts';
import { NOTHING_IN_FLIGHT } from '../../reconciler/plan-agent-actions.ts';
import { Reconciler } from '../../reconciler/reconciler.ts';
import type { Instance, ObservedInstance, ServedWorkload, Workload } from '../../schemas/types.gen.ts';
import { openForTest, sqliteBackend } from '../support/store-backends.ts';

const backend = sqliteBackend();
before(() => backend.start());
after(() => backend.stop());

/** One connected agent that runs nothing (placement is what is tested here, not deploys). */
function quietLink(agents: string[]): AgentLink {
  const heard = Date.now();
  return {
    observed: (agent) => (agents.includes(agent) ? ([] as ObservedInstance[]) : undefined),
    inFlight: () => NOTHING_IN_FLIGHT,
    lastHeard: () => heard,
    send: () => true,
    onAgentChange: () => {},
  };
}

async function until<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('40 workloads placed at once on agents with room for 12: exactly 12 bound, never more than fit, the rest Pending with the reason', async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  for (const [name, cpu] of [['small', '500m'], ['big', '700m']] as const) {
    const agent = await store.create({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name }, spec: {} });
    await store.updateStatus({ kind: 'Agent', name: agent.metadata.name }, {
      capacity: { cpu, memory: '1Gi' },
      allocatable: { cpu, memory: '1Gi' },
      runtimes: ['process'],
      tenantProcesses: true,
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentConnected', message: '', lastTransitionTime: new Date().toISOString() }],
    });
  }
  const reconciler = new Reconciler({ store, link: quietLink(['small', 'big']), workloadConcurrency: 32 });
  await reconciler.start();
  reconciler.startLeaderControllers();
  t.after(() => reconciler.stop());
  // One transaction of 40 Workloads: every reconcile starts from the same cache, at once. Written
  // as the API would store them, defaults filled in.
  await store.transact(async (tx) => {
    for (let i = 0; i < 40; i++) {
      await tx.create({
        apiVersion: 'lattice/v1',
        kind: 'Workload',
        metadata: { name: `w${i}`, namespace: 'team-a' },
        spec: { command: ['sleep', '60'], resources: { cpu: '100m' }, replicas: 1, restartPolicy: 'Always' },
      } satisfies ServedWorkload);
    }
  });
  const instances = await until(async () => {
    const { items } = await store.list({ kind: 'Instance' });
    return items.length === 40 && (items as Instance[]).every((i) => i.spec.agent || i.status?.message?.includes('agents can run it')) ? (items as Instance[]) : undefined;
  }, '40 instances, each bound or Pending with a reason');
  const bound = (agent: string) => instances.filter((i) => i.spec.agent === agent).length;
  assert.equal(bound('small'), 5, '500m holds five 100m instances');
  assert.equal(bound('big'), 7, '700m holds seven');
  const pending = instances.filter((i) => !i.spec.agent);
  assert.equal(pending.length, 28);
  for (const instance of pending) assert.equal(instance.status?.message, '0/2 agents can run it: 2 lack cpu (needs 100m)');
});

test("the caches hold one copy of a Workload's spec: its Instances' templates are it, through status writes", async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  await store.create({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'small' }, spec: {} });
  await store.updateStatus({ kind: 'Agent', name: 'small' }, {
    capacity: { cpu: '1', memory: '1Gi' },
    allocatable: { cpu: '1', memory: '1Gi' },
    runtimes: ['process'],
    tenantProcesses: true,
    conditions: [{ type: 'Ready', status: 'True', reason: 'AgentConnected', message: '', lastTransitionTime: new Date().toISOString() }],
  });
  const reconciler = new Reconciler({ store, link: quietLink(['small']) });
  await reconciler.start();
  reconciler.startLeaderControllers();
  t.after(() => reconciler.stop());
  await store.create({
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name: 'web', namespace: 'team-a' },
    spec: { replicas: 2, command: ['sleep', '60'], resources: { cpu: '100m' } },
  } satisfies Workload);
  const cached = () => reconciler.instances.list().filter((i) => i.spec.workload === 'web');
  const [first] = await until(async () => {
    const workload = reconciler.workloads.get('team-a', 'web');
    const instances = cached();
    return workload?.status?.observedGeneration === 1 && instances.length === 2 && instances.every((i) => i.spec.agent) ? instances : undefined;
  }, 'two bound instances and the workload status written');
  const shared = () => cached().every((i) => i.spec.template === reconciler.workloads.get('team-a', 'web')!.spec);
  assert.ok(shared(), 'each template is the cached Workload spec itself');

  // A status write on each side: new objects from the store, still one spec between them.
  await store.updateStatus({ kind: 'Instance', namespace: 'team-a', name: first!.metadata.name }, { ...first!.status, state: 'Running', restarts: 0 });
  await until(async () => (reconciler.instances.get('team-a', first!.metadata.name)?.status?.state === 'Running' ? true : undefined), 'the status write in the cache');
  const workload = reconciler.workloads.get('team-a', 'web')!;
  await store.updateStatus({ kind: 'Workload', namespace: 'team-a', name: 'web' }, { ...workload.status, readyReplicas: 1 + (workload.status?.readyReplicas ?? 0) });
  await until(async () => (reconciler.workloads.get('team-a', 'web') !== workload ? true : undefined), 'a new Workload object in the cache');
  assert.ok(shared(), 'still shared after status writes');
  assert.deepEqual(reconciler.workloads.get('team-a', 'web')!.spec, { replicas: 2, command: ['sleep', '60'], resources: { cpu: '100m' } }, 'and still the spec as written');
});
