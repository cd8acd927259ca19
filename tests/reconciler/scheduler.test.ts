// The scheduler, table by table: each filter alone, combinations, scoring, reasons, several replicas.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requiredRuntime, scheduleInstance, scheduleReplicas } from '../../reconciler/scheduler.ts';
import type { Placement, SchedulingAgent, SchedulingRequest } from '../../reconciler/scheduler.ts';
import type { WorkloadSpec } from '../../schemas/types.gen.ts';

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

/** A Ready shared agent that alice runs, with both runtimes, 4 cpus and 8Gi, nothing bound. */
function agent(overrides: Partial<SchedulingAgent> = {}): SchedulingAgent {
  return {
    name: 'a',
    labels: {},
    ready: true,
    unschedulable: false,
    joinedBy: 'alice',
    tenantProcesses: false,
    hostNetwork: false,
    tenantHostNetwork: false,
    runtimes: ['docker', 'process'],
    allocatable: { milliCpu: 4000, memoryBytes: 8 * Gi },
    allocated: { milliCpu: 0, memoryBytes: 0 },
    ...overrides,
  };
}

/** alice's process workload with no requests, unless told otherwise. */
function request(options: { tenant?: string; image?: string; cpu?: string; memory?: string; selector?: Record<string, string>; replicasOn?: Record<string, number> } = {}): SchedulingRequest {
  const template: WorkloadSpec = options.image !== undefined ? { image: options.image } : { command: ['sleep', 'infinity'] };
  if (options.cpu !== undefined || options.memory !== undefined) {
    template.resources = {
      ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
      ...(options.memory !== undefined ? { memory: options.memory } : {}),
    };
  }
  if (options.selector) template.placement = { agentSelector: options.selector };
  return { tenant: options.tenant ?? 'alice', template, ...(options.replicasOn ? { replicasOn: new Map(Object.entries(options.replicasOn)) } : {}) };
}

const used = (milliCpu: number, memoryBytes: number) => ({ milliCpu, memoryBytes });

interface Case {
  name: string;
  request: SchedulingRequest;
  agents: SchedulingAgent[];
  want: Placement;
}

const cases: Case[] = [
  // No agents, one agent.
  { name: 'no agents at all', request: request(), agents: [], want: { reason: 'no agents have joined' } },
  { name: 'one fitting agent', request: request({ cpu: '500m', memory: '256Mi' }), agents: [agent()], want: { agent: 'a' } },

  // Each filter alone.
  { name: 'not ready', request: request(), agents: [agent({ ready: false })], want: { reason: '0/1 agents can run it: 1 not ready' } },
  { name: 'unschedulable', request: request(), agents: [agent({ unschedulable: true })], want: { reason: '0/1 agents can run it: 1 unschedulable' } },
  { name: 'private to another user (not even counted)', request: request({ tenant: 'alice' }), agents: [agent({ owner: 'bob' })], want: { reason: 'no agent that alice may use has joined' } },
  { name: "another user's private agents are left out of the count", request: request({ tenant: 'alice', cpu: '8' }), agents: [agent({ name: 'p', owner: 'bob' }), agent({ name: 'q', owner: 'bob' }), agent({ name: 's' })], want: { reason: '0/1 agents can run it: 1 lacks cpu (needs 8)' } },
  { name: 'private to the tenant: allowed', request: request({ tenant: 'bob' }), agents: [agent({ owner: 'bob' })], want: { agent: 'a' } },
  { name: "another tenant's process on a shared agent", request: request({ tenant: 'bob' }), agents: [agent()], want: { reason: '0/1 agents can run it: 1 runs processes only for its owner' } },
  { name: "another tenant's image on a shared agent: allowed", request: request({ tenant: 'bob', image: 'nginx:1' }), agents: [agent()], want: { agent: 'a' } },
  { name: 'an agent that opted in runs every tenant’s processes', request: request({ tenant: 'bob' }), agents: [agent({ tenantProcesses: true })], want: { agent: 'a' } },
  { name: 'a shared agent nobody joined (configured token) runs no tenant’s processes', request: request(), agents: [agent({ joinedBy: undefined })], want: { reason: '0/1 agents can run it: 1 runs processes only for its owner' } },
  { name: "another tenant's container on a shared agent with host networking", request: request({ tenant: 'bob', image: 'nginx:1' }), agents: [agent({ hostNetwork: true })], want: { reason: '0/1 agents can run it: 1 shares its host network only with its owner' } },
  { name: "the owner's container on its host network: allowed", request: request({ image: 'nginx:1' }), agents: [agent({ hostNetwork: true })], want: { agent: 'a' } },
  { name: 'an agent that opted in takes every tenant’s containers on its host network', request: request({ tenant: 'bob', image: 'nginx:1' }), agents: [agent({ hostNetwork: true, tenantHostNetwork: true })], want: { agent: 'a' } },
  // Default requests: on a shared agent what a replica leaves out counts as the defaults; nothing "always fits" there.
  {
    name: 'no request on a full shared agent: the default does not fit',
    request: { ...request(), sharedDefaults: { milliCpu: 100, memoryBytes: 64 * Mi } },
    agents: [agent({ allocated: used(3950, 0) })],
    want: { reason: '0/1 agents can run it: 1 lacks cpu (needs 100m)' },
  },
  { name: 'no request on a full private agent: still fits (best effort)', request: { ...request(), sharedDefaults: { milliCpu: 100, memoryBytes: 64 * Mi } }, agents: [agent({ owner: 'alice', allocated: used(3950, 8 * Gi) })], want: { agent: 'a' } },
  {
    name: 'the default fills only what the template leaves out',
    request: { ...request({ cpu: '10m' }), sharedDefaults: { milliCpu: 100, memoryBytes: 64 * Mi } },
    agents: [agent({ allocated: used(3950, 8 * Gi - 32 * Mi) })],
    want: { reason: '0/1 agents can run it: 1 lacks memory (needs 64Mi)' },
  },
  { name: 'image needs docker', request: request({ image: 'nginx:1' }), agents: [agent({ runtimes: ['process'] })], want: { reason: '0/1 agents can run it: 1 lacks the docker runtime' } },
  { name: 'command needs process', request: request(), agents: [agent({ runtimes: ['docker'] })], want: { reason: '0/1 agents can run it: 1 lacks the process runtime' } },
  { name: 'agent with no runtimes', request: request({ image: 'nginx:1' }), agents: [agent({ runtimes: [] })], want: { reason: '0/1 agents can run it: 1 lacks the docker runtime' } },
  {
    name: 'agentSelector mismatch (keys sorted in the reason)',
    request: request({ selector: { zone: 'eu', disk: 'ssd' } }),
    agents: [agent({ labels: { zone: 'eu', disk: 'hdd' } })],
    want: { reason: '0/1 agents can run it: 1 does not match placement.agentSelector disk=ssd,zone=eu' },
  },
  { name: 'not enough cpu', request: request({ cpu: '2' }), agents: [agent({ allocated: used(2500, 0) })], want: { reason: '0/1 agents can run it: 1 lacks cpu (needs 2)' } },
  { name: 'not enough memory', request: request({ memory: '512Mi' }), agents: [agent({ allocatable: used(4000, 256 * Mi) })], want: { reason: '0/1 agents can run it: 1 lacks memory (needs 512Mi)' } },

  // Boundaries of the resource filters.
  { name: 'request exactly the free amount fits', request: request({ cpu: '1.5', memory: '1Gi' }), agents: [agent({ allocated: used(2500, 7 * Gi) })], want: { agent: 'a' } },
  { name: 'one millicore short', request: request({ cpu: '1501m' }), agents: [agent({ allocated: used(2500, 0) })], want: { reason: '0/1 agents can run it: 1 lacks cpu (needs 1501m)' } },
  { name: 'no request fits an overcommitted agent', request: request(), agents: [agent({ allocated: used(9000, 20 * Gi) })], want: { agent: 'a' } },
  { name: 'no request fits an agent reporting no allocatable', request: request(), agents: [agent({ allocatable: used(0, 0) })], want: { agent: 'a' } },
  { name: 'a cpu request does not fit an agent reporting no allocatable', request: request({ cpu: '1m' }), agents: [agent({ allocatable: used(0, 0) })], want: { reason: '0/1 agents can run it: 1 lacks cpu (needs 1m)' } },

  // Combinations: each agent is counted under the first filter it fails, reported in filter order.
  {
    name: 'not ready wins over every later filter',
    request: request({ image: 'nginx:1', memory: '1Ti', selector: { zone: 'eu' } }),
    agents: [agent({ ready: false, unschedulable: true, owner: 'bob', runtimes: [] })],
    want: { reason: '0/1 agents can run it: 1 not ready' },
  },
  {
    name: 'three agents, three reasons, in filter order',
    request: request({ memory: '512Mi', selector: { zone: 'eu' } }),
    agents: [
      agent({ name: 'c', labels: { zone: 'eu' }, allocatable: used(4000, 256 * Mi) }),
      agent({ name: 'b', labels: { zone: 'us' } }),
      agent({ name: 'a', ready: false, labels: { zone: 'eu' } }),
    ],
    want: { reason: '0/3 agents can run it: 1 not ready, 1 does not match placement.agentSelector zone=eu, 1 lacks memory (needs 512Mi)' },
  },
  {
    name: 'plurals and all seven filters',
    request: request({ tenant: 'alice', image: 'postgres:16', cpu: '2', memory: '4Gi', selector: { tier: 'db' } }),
    agents: [
      agent({ name: 'n1', ready: false }),
      agent({ name: 'n2', ready: false }),
      agent({ name: 'u1', unschedulable: true }),
      agent({ name: 'p1', owner: 'bob' }),
      agent({ name: 'r1', runtimes: ['process'] }),
      agent({ name: 's1', labels: { tier: 'web' } }),
      agent({ name: 's2' }),
      agent({ name: 'c1', labels: { tier: 'db' }, allocatable: used(1000, 8 * Gi) }),
      agent({ name: 'c2', labels: { tier: 'db' }, allocated: used(3000, 0) }),
      agent({ name: 'm1', labels: { tier: 'db' }, allocated: used(0, 6 * Gi) }),
    ],
    want: {
      reason:
        '0/9 agents can run it: 2 not ready, 1 unschedulable, 1 lacks the docker runtime, ' +
        '2 do not match placement.agentSelector tier=db, 2 lack cpu (needs 2), 1 lacks memory (needs 4Gi)',
    },
  },
  {
    name: 'the only fitting agent among many misfits',
    request: request({ image: 'nginx:1', cpu: '1', selector: { zone: 'eu' } }),
    agents: [
      agent({ name: 'a', labels: { zone: 'eu' }, ready: false }),
      agent({ name: 'b', labels: { zone: 'eu' }, runtimes: ['process'] }),
      agent({ name: 'c', labels: { zone: 'us' } }),
      agent({ name: 'd', labels: { zone: 'eu' }, allocated: used(3900, 0) }),
      agent({ name: 'e', labels: { zone: 'eu', disk: 'ssd' }, allocated: used(3000, 7 * Gi) }),
    ],
    want: { agent: 'e' },
  },
  {
    name: 'docker workload goes to the docker agent, process workload may go anywhere',
    request: request({ image: 'nginx:1' }),
    agents: [agent({ name: 'a-process', runtimes: ['process'] }), agent({ name: 'z-docker', runtimes: ['docker'] })],
    want: { agent: 'z-docker' },
  },

  // Scoring.
  {
    name: 'least allocated after placement',
    request: request({ cpu: '1', memory: '1Gi' }),
    agents: [agent({ name: 'busy', allocated: used(2000, 4 * Gi) }), agent({ name: 'idle', allocated: used(1000, 1 * Gi) })],
    want: { agent: 'idle' },
  },
  {
    name: 'least allocated is relative to size: the big agent wins',
    request: request({ cpu: '1', memory: '1Gi' }),
    agents: [agent({ name: 'small', allocatable: used(2000, 2 * Gi) }), agent({ name: 'big', allocatable: used(16000, 32 * Gi), allocated: used(4000, 8 * Gi) })],
    want: { agent: 'big' },
  },
  {
    name: 'least allocated averages cpu and memory',
    request: request(),
    agents: [agent({ name: 'a', allocated: used(4000, 0) }), agent({ name: 'b', allocated: used(1000, 4 * Gi) })],
    want: { agent: 'b' }, // a: (1 + 0) / 2 = 0.5, b: (0.25 + 0.5) / 2 = 0.375
  },
  {
    name: 'spread beats least allocated',
    request: request({ cpu: '100m', replicasOn: { empty: 1 } }),
    agents: [agent({ name: 'empty' }), agent({ name: 'loaded', allocated: used(3000, 6 * Gi) })],
    want: { agent: 'loaded' },
  },
  {
    name: 'ties broken by name, whatever the input order',
    request: request({ cpu: '500m' }),
    agents: [agent({ name: 'charlie' }), agent({ name: 'alpha' }), agent({ name: 'bravo' })],
    want: { agent: 'alpha' },
  },
  {
    name: 'ties within float noise are ties',
    request: request({ cpu: '100m' }),
    agents: [agent({ name: 'b', allocatable: used(1000, 10 * Gi), allocated: used(200, 0) }), agent({ name: 'a', allocatable: used(1000, 10 * Gi), allocated: used(0, 2 * Gi) })],
    want: { agent: 'a' }, // b: (0.3 + 0) / 2 = 0.15; a: (0.1 + 0.2) / 2 = 0.15000000000000002
  },
  {
    name: "the owner's private agent competes with shared ones on score",
    request: request({ tenant: 'bob', cpu: '1' }),
    agents: [agent({ name: 'shared', allocated: used(2000, 0) }), agent({ name: 'bobs-laptop', owner: 'bob' })],
    want: { agent: 'bobs-laptop' },
  },
  {
    name: "another user's idle private agent is passed over",
    request: request({ tenant: 'alice', cpu: '1' }),
    agents: [agent({ name: 'shared', allocated: used(2000, 0) }), agent({ name: 'bobs-laptop', owner: 'bob' })],
    want: { agent: 'shared' },
  },

  // A request that slipped past the schema gets a reason, not a crash.
  { name: 'invalid quantity', request: { tenant: 'alice', template: { command: ['x'], resources: { memory: 'lots' } } }, agents: [agent()], want: { reason: 'invalid resources: "lots" is not a memory quantity such as "256Mi", "1Gi" or "500M"' } },
];

describe('scheduleInstance', () => {
  for (const c of cases) test(c.name, () => assert.deepEqual(scheduleInstance(c.request, c.agents), c.want));
});

interface ReplicasCase {
  name: string;
  request: SchedulingRequest;
  agents: SchedulingAgent[];
  count: number;
  want: Placement[];
}

const replicaCases: ReplicasCase[] = [
  { name: '3 replicas over 2 agents', request: request({ cpu: '500m' }), agents: [agent({ name: 'b' }), agent({ name: 'a' })], count: 3, want: [{ agent: 'a' }, { agent: 'b' }, { agent: 'a' }] },
  {
    name: '3 replicas over 3 agents: one each, least allocated first',
    request: request({ cpu: '500m', memory: '512Mi' }),
    agents: [agent({ name: 'a', allocated: used(2000, 0) }), agent({ name: 'b', allocated: used(1000, 0) }), agent({ name: 'c' })],
    count: 3,
    want: [{ agent: 'c' }, { agent: 'b' }, { agent: 'a' }],
  },
  {
    name: 'replicas already bound count towards the spread',
    request: request({ replicasOn: { a: 2, c: 1 } }),
    agents: [agent({ name: 'a' }), agent({ name: 'b' }), agent({ name: 'c' })],
    count: 3,
    want: [{ agent: 'b' }, { agent: 'b' }, { agent: 'c' }],
  },
  {
    name: 'placed requests use up the agent',
    request: request({ cpu: '1' }),
    agents: [agent({ name: 'a', allocatable: used(2000, 8 * Gi) })],
    count: 3,
    want: [{ agent: 'a' }, { agent: 'a' }, { reason: '0/1 agents can run it: 1 lacks cpu (needs 1)' }],
  },
  {
    name: 'spill onto the bigger agent once the smaller one is full',
    request: request({ memory: '1Gi' }),
    agents: [agent({ name: 'a', allocatable: used(4000, 1 * Gi) }), agent({ name: 'b', allocatable: used(4000, 16 * Gi) })],
    count: 3,
    want: [{ agent: 'b' }, { agent: 'a' }, { agent: 'b' }],
  },
  {
    name: "a stranger's share of shared agents: this call's placements count, its own and private agents do not",
    request: { ...request({ tenant: 'bob', image: 'nginx:1', cpu: '1' }), sharedQuota: { limit: used(2500, 8 * Gi), used: used(500, 0) } },
    agents: [agent({ name: 'a' })],
    count: 3,
    want: [{ agent: 'a' }, { agent: 'a' }, { reason: "0/1 agents can run it: 1 is shared and bob has used its share of shared agents (at most 2500m cpu and 8Gi memory requested)" }],
  },
  {
    name: 'the share does not count on a shared agent the tenant runs itself, nor on a private one',
    request: { ...request({ tenant: 'bob', image: 'nginx:1', cpu: '1' }), sharedQuota: { limit: used(500, 8 * Gi), used: used(500, 0) } },
    agents: [agent({ name: 'mine', joinedBy: 'bob', allocatable: used(1000, 8 * Gi) }), agent({ name: 'private', owner: 'bob', allocatable: used(1000, 8 * Gi) })],
    count: 2,
    want: [{ agent: 'mine' }, { agent: 'private' }],
  },
  { name: 'zero replicas', request: request(), agents: [agent()], count: 0, want: [] },
  { name: 'no agents', request: request(), agents: [], count: 2, want: [{ reason: 'no agents have joined' }, { reason: 'no agents have joined' }] },
];

describe('scheduleReplicas', () => {
  for (const c of replicaCases) {
    test(c.name, () => {
      const before = structuredClone(c.agents);
      assert.deepEqual(scheduleReplicas(c.request, c.agents, c.count), c.want);
      assert.deepEqual(c.agents, before, 'the input agents are not modified');
    });
  }
});

describe('scoring a limited number of agents (large fleets)', () => {
  const fleet = ['a', 'b', 'c', 'd', 'e'].map((name, i) => agent({ name, allocated: used(100 * (5 - i), 0) })); // e is the least allocated
  const rows: [string, SchedulingRequest, SchedulingAgent[], number, { scoreLimit?: number; startAt?: number }, Placement[]][] = [
    ['no limit: the least allocated of all', request({ cpu: '100m' }), fleet, 1, {}, [{ agent: 'e' }]],
    ['limit 2 from the start: the better of a and b', request({ cpu: '100m' }), fleet, 1, { scoreLimit: 2 }, [{ agent: 'b' }]],
    ['limit 2 from c: the better of c and d', request({ cpu: '100m' }), fleet, 1, { scoreLimit: 2, startAt: 2 }, [{ agent: 'd' }]],
    ['startAt wraps around the fleet', request({ cpu: '100m' }), fleet, 1, { scoreLimit: 2, startAt: 9 }, [{ agent: 'e' }]],
    ['agents that do not fit are not counted towards the limit', request({ cpu: '100m', selector: { zone: 'x' } }), [agent({ name: 'a' }), agent({ name: 'b', labels: { zone: 'x' } }), agent({ name: 'c', labels: { zone: 'x' }, allocated: used(0, 0) })], 1, { scoreLimit: 1 }, [{ agent: 'b' }]],
    ['no fit: the reason still counts every agent', request({ cpu: '100m', selector: { zone: 'x' } }), fleet, 1, { scoreLimit: 2 }, [{ reason: '0/5 agents can run it: 5 do not match placement.agentSelector zone=x' }]],
    ['replicas spread within the limited set', request({ cpu: '100m' }), fleet, 2, { scoreLimit: 2 }, [{ agent: 'b' }, { agent: 'a' }]],
  ];
  for (const [name, req, agents, count, options, want] of rows) test(name, () => assert.deepEqual(scheduleReplicas(req, agents, count, options), want));
});

test('requiredRuntime: image → docker (even with a command), command alone → process', () => {
  assert.equal(requiredRuntime({ image: 'nginx:1' }), 'docker');
  assert.equal(requiredRuntime({ image: 'nginx:1', command: ['nginx', '-g', 'daemon off;'] }), 'docker');
  assert.equal(requiredRuntime({ command: ['python3', '-m', 'http.server'] }), 'process');
});
