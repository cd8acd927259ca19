// ClusterCapacity: the scheduler's view kept incrementally from cache changes, with placements
// assumed before their writes come back through the watch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterCapacity } from '../../reconciler/cluster-capacity.ts';
import type { Instance, ServedAgent } from '../../schemas/types.gen.ts';
import { instance } from './fixtures.ts';

const Mi = 1024 ** 2;

function agent(name: string, options: { ready?: boolean; cpu?: string; memory?: string; owner?: string } = {}): ServedAgent {
  const { ready = true, cpu = '4', memory = '8Gi' } = options;
  return {
    apiVersion: 'lattice/v1',
    kind: 'Agent',
    metadata: { name, labels: { zone: 'home' } },
    spec: { unschedulable: false, ...(options.owner ? { owner: options.owner } : {}) },
    status: {
      capacity: { cpu, memory },
      runtimes: ['process'],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'R', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' }],
    },
  };
}

/** An instance of team-a/web bound to `on`, asking for cpu/memory. */
function bound(name: string, on: string | null, request: { cpu?: string; memory?: string } = { cpu: '500m', memory: '256Mi' }, deleting = false): Instance {
  const base = instance({ name, agent: on, deleting });
  return { ...base, spec: { ...base.spec, template: { ...base.spec.template, resources: request } } };
}

const allocatedOn = (capacity: ClusterCapacity, name: string) => capacity.agents().find((a) => a.name === name)?.allocated;

describe('ClusterCapacity', () => {
  test('agents are viewed as the scheduler needs them', () => {
    const capacity = new ClusterCapacity();
    capacity.observeAgent(agent('a', { cpu: '2', memory: '1Gi', owner: 'bob' }), undefined);
    capacity.observeAgent(agent('b', { ready: false }), undefined);
    assert.deepEqual(
      capacity.agents().map(({ name, ready, owner, allocatable, runtimes, labels }) => ({ name, ready, owner, allocatable, runtimes, labels })),
      [
        { name: 'a', ready: true, owner: 'bob', allocatable: { milliCpu: 2000, memoryBytes: 1024 * Mi }, runtimes: ['process'], labels: { zone: 'home' } },
        { name: 'b', ready: false, owner: undefined, allocatable: { milliCpu: 4000, memoryBytes: 8 * 1024 * Mi }, runtimes: ['process'], labels: { zone: 'home' } },
      ],
    );
    capacity.observeAgent(undefined, agent('a'));
    assert.deepEqual(capacity.agents().map((a) => a.name), ['b']);
  });

  test('on a shared agent a replica stating no cpu or memory counts as the default requests; on a private one as nothing', () => {
    const capacity = new ClusterCapacity({ cpu: '100m', memory: '64Mi' });
    assert.deepEqual(capacity.sharedDefaults, { milliCpu: 100, memoryBytes: 64 * Mi });
    capacity.observeAgent(agent('shared'), undefined);
    capacity.observeAgent(agent('mine', { owner: 'team-a' }), undefined);
    capacity.observeInstance(bound('bare', 'shared', {}), undefined);
    capacity.observeInstance(bound('half', 'shared', { cpu: '1' }), undefined);
    capacity.observeInstance(bound('bare-at-home', 'mine', {}), undefined);
    assert.deepEqual(allocatedOn(capacity, 'shared'), { milliCpu: 1100, memoryBytes: 128 * Mi });
    assert.deepEqual(allocatedOn(capacity, 'mine'), { milliCpu: 0, memoryBytes: 0 });
  });

  test("a user's share of shared agents counts only what it has on shared agents other users run", () => {
    const capacity = new ClusterCapacity({}, { cpu: '2', memory: '4Gi' });
    capacity.observeAgent({ ...agent('theirs'), spec: { unschedulable: false, joinedBy: 'admin' } }, undefined);
    capacity.observeAgent({ ...agent('its-own'), spec: { unschedulable: false, joinedBy: 'team-a' } }, undefined);
    capacity.observeAgent(agent('private', { owner: 'team-a' }), undefined);
    const one = bound('one', 'theirs');
    capacity.observeInstance(one, undefined);
    capacity.observeInstance(bound('two', 'its-own'), undefined);
    capacity.observeInstance(bound('three', 'private'), undefined);
    assert.deepEqual(capacity.sharedQuotaOf('team-a'), { limit: { milliCpu: 2000, memoryBytes: 4096 * Mi }, used: { milliCpu: 500, memoryBytes: 256 * Mi } });
    capacity.observeInstance(undefined, one);
    assert.deepEqual(capacity.sharedQuotaOf('team-a')?.used, { milliCpu: 0, memoryBytes: 0 });
    assert.equal(new ClusterCapacity().sharedQuotaOf('team-a'), undefined, 'no limit configured');
  });

  test('bound instances add up per agent; unbinding, deleting and moving take them off', () => {
    const capacity = new ClusterCapacity();
    capacity.observeAgent(agent('a'), undefined);
    capacity.observeAgent(agent('b'), undefined);
    const one = bound('one', 'a');
    const two = bound('two', 'a', { cpu: '1', memory: '1Gi' });
    capacity.observeInstance(one, undefined);
    capacity.observeInstance(two, undefined);
    capacity.observeInstance(bound('waiting', null), undefined);
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 1500, memoryBytes: 1280 * Mi });
    assert.deepEqual(allocatedOn(capacity, 'b'), { milliCpu: 0, memoryBytes: 0 });
    assert.deepEqual([...capacity.replicasOn('team-a/web')], [['a', 2]]);

    capacity.observeInstance(bound('two', 'b', { cpu: '1', memory: '1Gi' }), two); // moved (re-created elsewhere)
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 500, memoryBytes: 256 * Mi });
    assert.deepEqual(allocatedOn(capacity, 'b'), { milliCpu: 1000, memoryBytes: 1024 * Mi });
    capacity.observeInstance(bound('one', 'a', undefined, true), one); // being deleted: no longer counted
    capacity.observeInstance(undefined, bound('two', 'b'));
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 0, memoryBytes: 0 });
    assert.deepEqual(allocatedOn(capacity, 'b'), { milliCpu: 0, memoryBytes: 0 });
    assert.equal(capacity.replicasOn('team-a/web').size, 0);
  });

  test('an assumed placement counts at once, is replaced by the real instance, and a failed write forgets it', () => {
    const capacity = new ClusterCapacity();
    capacity.observeAgent(agent('a'), undefined);
    const placed = bound('new', 'a');
    capacity.assume(placed);
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 500, memoryBytes: 256 * Mi });
    capacity.observeInstance(placed, undefined); // the write came back: counted once, not twice
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 500, memoryBytes: 256 * Mi });
    capacity.forget(placed); // no longer an assumption: forgetting does nothing
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 500, memoryBytes: 256 * Mi });

    const failed = bound('failed', 'a');
    capacity.assume(failed);
    capacity.forget(failed);
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 500, memoryBytes: 256 * Mi });
    assert.deepEqual([...capacity.replicasOn('team-a/web')], [['a', 1]]);
  });

  test('an agent view replaced by a newer Agent keeps pointing at the live allocation', () => {
    const capacity = new ClusterCapacity();
    capacity.observeAgent(agent('a'), undefined);
    capacity.observeInstance(bound('one', 'a'), undefined);
    capacity.observeAgent(agent('a', { ready: false }), agent('a'));
    assert.equal(capacity.agents()[0]!.ready, false);
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 500, memoryBytes: 256 * Mi });
  });

  test('a quantity that slipped past the schema counts as nothing (the scheduler reports it)', () => {
    const capacity = new ClusterCapacity();
    capacity.observeAgent(agent('a', { cpu: 'lots' }), undefined);
    capacity.observeInstance(bound('odd', 'a', { cpu: 'much', memory: '1Mi' }), undefined);
    assert.deepEqual(capacity.agents()[0]!.allocatable.milliCpu, 0);
    assert.deepEqual(allocatedOn(capacity, 'a'), { milliCpu: 0, memoryBytes: Mi });
  });
});
