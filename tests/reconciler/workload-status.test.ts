// workloadStatus, table by table: phase with its reason and message, replica counts,
// observedGeneration, endpoints, and when conditions record a transition.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { workloadStatus } from '../../reconciler/workload-status.ts';
import type { Condition, Instance, WorkloadStatus } from '../../schemas/types.gen.ts';
import { NEW, OLD, instance, workload } from './fixtures.ts';
import type { WorkloadOptions } from './fixtures.ts';

const NOW = '2024-06-01T12:00:00.000Z';
const BEFORE = '2024-05-01T08:00:00.000Z';

/** What a row asserts: the phase, the counts, and the Available/Progressing conditions in short. */
interface Summary {
  phase: WorkloadStatus['phase'];
  replicas: number | undefined;
  ready: number | undefined;
  updated: number | undefined;
  /** Available condition status. */
  available: Condition['status'] | undefined;
  /** Progressing condition: status, reason, message. */
  progressing: [Condition['status'], string | undefined, string | undefined] | undefined;
}

function summary(status: WorkloadStatus): Summary {
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  const progressing = condition('Progressing');
  return {
    phase: status.phase,
    replicas: status.replicas,
    ready: status.readyReplicas,
    updated: status.updatedReplicas,
    available: condition('Available')?.status,
    progressing: progressing ? [progressing.status, progressing.reason, progressing.message] : undefined,
  };
}

interface Case {
  name: string;
  workload: WorkloadOptions;
  instances: Instance[];
  hash?: string;
  want: Summary;
  todo?: string;
}

const want = (phase: WorkloadStatus['phase'], [replicas, ready, updated]: [number, number, number], available: Condition['status'], progressing: Summary['progressing']): Summary => ({
  phase,
  replicas,
  ready,
  updated,
  available,
  progressing,
});

const cases: Case[] = [
  // Running.
  {
    name: 'Running: every replica current and ready',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', health: 'Healthy' })],
    want: want('Running', [2, 2, 2], 'True', ['False', 'AllReplicasReady', '2/2 replicas ready']),
  },
  {
    name: 'Running: replicas unset means 1',
    workload: {},
    instances: [instance({ name: 'a' })],
    want: want('Running', [1, 1, 1], 'True', ['False', 'AllReplicasReady', '1/1 replicas ready']),
  },
  {
    name: 'Running: zero replicas and no instances',
    workload: { replicas: 0 },
    instances: [],
    want: want('Running', [0, 0, 0], 'True', ['False', 'AllReplicasReady', '0/0 replicas ready']),
  },
  {
    name: 'Running: deleting and Lost instances are not counted',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', deleting: true }), instance({ name: 'c', state: 'Lost' })],
    want: want('Running', [1, 1, 1], 'True', ['False', 'AllReplicasReady', '1/1 replicas ready']),
  },

  // Ready means up for minReadySeconds (2 s without a health check, 0 with one).
  {
    name: 'Progressing: running for 1 s without a health check is not ready yet (a process that exits at once never is)',
    workload: {},
    instances: [instance({ name: 'a', startedAt: '2024-06-01T11:59:59.000Z' })],
    want: want('Progressing', [1, 0, 1], 'False', ['True', 'WaitingForReady', '1/1 updated, 0 ready']),
  },
  {
    name: 'Running: up for 2 s without a health check',
    workload: {},
    instances: [instance({ name: 'a', startedAt: '2024-06-01T11:59:58.000Z' })],
    want: want('Running', [1, 1, 1], 'True', ['False', 'AllReplicasReady', '1/1 replicas ready']),
  },
  {
    name: 'Running: just started with a passing health check (the check is what counts)',
    workload: { healthCheck: true },
    instances: [instance({ name: 'a', health: 'Healthy', startedAt: NOW })],
    want: want('Running', [1, 1, 1], 'True', ['False', 'AllReplicasReady', '1/1 replicas ready']),
  },
  {
    name: 'Progressing: minReadySeconds set applies with a health check too',
    workload: { healthCheck: true, minReadySeconds: 10 },
    instances: [instance({ name: 'a', health: 'Healthy', startedAt: '2024-06-01T11:59:55.000Z' })],
    want: want('Progressing', [1, 0, 1], 'False', ['True', 'WaitingForReady', '1/1 updated, 0 ready']),
  },
  {
    name: 'Running: minReadySeconds 0 counts a process as ready at once',
    workload: { minReadySeconds: 0 },
    instances: [instance({ name: 'a', startedAt: NOW })],
    want: want('Running', [1, 1, 1], 'True', ['False', 'AllReplicasReady', '1/1 replicas ready']),
  },

  // Progressing.
  {
    name: 'Progressing: nothing created yet',
    workload: { replicas: 2 },
    instances: [],
    want: want('Progressing', [0, 0, 0], 'False', ['True', 'RollingOut', '0/2 updated, 0 ready']),
  },
  {
    name: 'Progressing: rollout, the new instance starting next to two ready old ones',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD }), instance({ name: 'b', hash: OLD }), instance({ name: 'n1', state: 'Starting' })],
    want: want('Progressing', [3, 2, 1], 'True', ['True', 'RollingOut', '1/2 updated, 2 ready']),
  },
  {
    name: 'Progressing: rollout, all updated but an old one still running',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD }), instance({ name: 'n1' }), instance({ name: 'n2' })],
    want: want('Progressing', [3, 3, 2], 'True', ['True', 'RollingOut', '2/2 updated, 3 ready']),
  },
  {
    name: 'Progressing: all current, one waiting to be ready',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Starting' })],
    want: want('Progressing', [2, 1, 2], 'False', ['True', 'WaitingForReady', '2/2 updated, 1 ready']),
  },
  {
    name: 'Progressing: all current, one scheduled but still Pending',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', state: 'Pending' })],
    want: want('Progressing', [1, 0, 1], 'False', ['True', 'WaitingForReady', '1/1 updated, 0 ready']),
  },
  {
    name: 'Progressing: scaling up',
    workload: { replicas: 3 },
    instances: [instance({ name: 'a' })],
    want: want('Progressing', [1, 1, 1], 'False', ['True', 'RollingOut', '1/3 updated, 1 ready']),
  },
  {
    name: 'Progressing: scaling down, one too many still live',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a' }), instance({ name: 'b' })],
    want: want('Progressing', [2, 2, 2], 'True', ['True', 'RollingOut', '2/1 updated, 2 ready']),
  },
  {
    name: 'Progressing: a Lost instance not replaced yet',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Lost' })],
    want: want('Progressing', [1, 1, 1], 'False', ['True', 'RollingOut', '1/2 updated, 1 ready']),
  },
  {
    name: 'Progressing, not Pending: one scheduled, one waiting for an agent',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Pending', agent: null, message: 'no agent fits' })],
    want: want('Progressing', [2, 1, 2], 'False', ['True', 'WaitingForReady', '2/2 updated, 1 ready']),
  },

  // Pending.
  {
    name: 'Pending: nothing scheduled, the message comes from the instance',
    workload: { replicas: 2 },
    instances: [
      instance({ name: 'a', state: 'Pending', agent: null, message: '0/3 agents: 3 have too little memory' }),
      instance({ name: 'b', state: 'Pending', agent: null, message: '0/3 agents: 3 have too little memory' }),
    ],
    want: want('Pending', [2, 0, 2], 'False', ['True', 'Unschedulable', '0/3 agents: 3 have too little memory']),
  },
  {
    name: 'Pending: nothing scheduled, no message yet',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', state: null, agent: null })],
    want: want('Pending', [1, 0, 1], 'False', ['True', 'Unschedulable', 'waiting for an agent']),
  },
  {
    name: 'Pending: an unscheduled old-template instance counts too',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', hash: OLD, state: 'Pending', agent: null, message: 'no agents have joined' })],
    want: want('Pending', [1, 0, 0], 'False', ['True', 'Unschedulable', 'no agents have joined']),
  },

  // Degraded.
  {
    name: 'Degraded: a Failed instance, named with its message',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Failed', message: 'exited with code 1' })],
    want: want('Degraded', [2, 1, 2], 'False', ['True', 'InstanceFailing', 'b: exited with code 1']),
  },
  {
    name: 'Degraded: a Failed instance without a message, named with its state',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', state: 'Failed' })],
    want: want('Degraded', [1, 0, 1], 'False', ['True', 'InstanceFailing', 'a: Failed']),
  },
  {
    name: 'Degraded: an Unhealthy instance, named with its message',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', health: 'Unhealthy', message: 'http probe: 503' })],
    want: want('Degraded', [2, 1, 2], 'False', ['True', 'InstanceFailing', 'b: http probe: 503']),
  },
  {
    name: 'Degraded: an Unhealthy instance without a message says it is unhealthy',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', health: 'Unhealthy' })],
    want: want('Degraded', [1, 0, 1], 'False', ['True', 'InstanceFailing', 'a: unhealthy']),
  },
  {
    name: 'Degraded wins over a rollout in progress',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD }), instance({ name: 'b', hash: OLD }), instance({ name: 'n1', state: 'Failed', message: 'image not found' })],
    want: want('Degraded', [3, 2, 1], 'True', ['True', 'InstanceFailing', 'n1: image not found']),
  },
  {
    name: 'Degraded names the first failing instance',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', state: 'Failed', message: 'first' }), instance({ name: 'b', state: 'Failed', message: 'second' })],
    want: want('Degraded', [2, 0, 2], 'False', ['True', 'InstanceFailing', 'a: first']),
  },
  {
    name: 'not Degraded: a Failed instance being deleted is not counted',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Failed', deleting: true })],
    want: want('Running', [1, 1, 1], 'True', ['False', 'AllReplicasReady', '1/1 replicas ready']),
  },
];

describe('workloadStatus: phase, counts, conditions', () => {
  for (const row of cases) {
    test(row.name, { todo: row.todo }, () => {
      assert.deepEqual(summary(workloadStatus(workload(row.workload), row.instances, row.hash ?? NEW, NOW)), row.want);
    });
  }
});

describe('workloadStatus: the whole object', () => {
  test('a Running workload, exactly', () => {
    const status = workloadStatus(
      workload({ replicas: 1, generation: 4 }),
      [instance({ name: 'a', agent: 'agent-7', endpoints: [{ port: 'http', url: 'http://10.0.0.7:8080' }] })],
      NEW,
      NOW,
    );
    assert.deepEqual(status, {
      observedGeneration: 4,
      phase: 'Running',
      replicas: 1,
      readyReplicas: 1,
      updatedReplicas: 1,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasReady', message: '1/1 ready', lastTransitionTime: NOW },
        { type: 'Progressing', status: 'False', reason: 'AllReplicasReady', message: '1/1 replicas ready', lastTransitionTime: NOW },
      ],
      endpoints: [{ port: 'http', url: 'http://10.0.0.7:8080', agent: 'agent-7' }],
    });
  });

  const generations: [string, number][] = [
    ['generation 1', 1],
    ['generation 7', 7],
  ];
  for (const [name, generation] of generations) {
    test(`observedGeneration mirrors metadata.generation: ${name}`, () => {
      assert.equal(workloadStatus(workload({ generation }), [], NEW, NOW).observedGeneration, generation);
    });
  }

  test('Available is False with MinimumReplicasUnavailable below the desired ready count', () => {
    const status = workloadStatus(workload({ replicas: 3 }), [instance({ name: 'a' }), instance({ name: 'b', state: 'Starting' })], NEW, NOW);
    assert.deepEqual(status.conditions?.[0], { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: '1/3 ready', lastTransitionTime: NOW });
  });
});

describe('workloadStatus: endpoints', () => {
  interface EndpointCase {
    name: string;
    instances: Instance[];
    want: WorkloadStatus['endpoints'];
  }
  const http = (ip: string) => [{ port: 'http', url: `http://${ip}:8080` }];
  const endpointCases: EndpointCase[] = [
    { name: 'no instances: no endpoints field', instances: [], want: undefined },
    { name: 'ready instances without endpoints: no endpoints field', instances: [instance({ name: 'a' })], want: undefined },
    {
      name: 'from ready instances, each with its agent, in instance order',
      instances: [
        instance({ name: 'a', agent: 'agent-1', endpoints: http('10.0.0.1') }),
        instance({ name: 'b', agent: 'agent-2', endpoints: [...http('10.0.0.2'), { port: '9090', url: 'tcp://10.0.0.2:9090' }] }),
      ],
      want: [
        { port: 'http', url: 'http://10.0.0.1:8080', agent: 'agent-1' },
        { port: 'http', url: 'http://10.0.0.2:8080', agent: 'agent-2' },
        { port: '9090', url: 'tcp://10.0.0.2:9090', agent: 'agent-2' },
      ],
    },
    {
      name: 'not from Starting, Unhealthy, Failed, Lost or deleting instances',
      instances: [
        instance({ name: 'a', agent: 'agent-1', endpoints: http('10.0.0.1') }),
        instance({ name: 'b', agent: 'agent-2', state: 'Starting', endpoints: http('10.0.0.2') }),
        instance({ name: 'c', agent: 'agent-3', health: 'Unhealthy', endpoints: http('10.0.0.3') }),
        instance({ name: 'd', agent: 'agent-4', state: 'Failed', endpoints: http('10.0.0.4') }),
        instance({ name: 'e', agent: 'agent-5', state: 'Lost', endpoints: http('10.0.0.5') }),
        instance({ name: 'f', agent: 'agent-6', deleting: true, endpoints: http('10.0.0.6') }),
      ],
      want: [{ port: 'http', url: 'http://10.0.0.1:8080', agent: 'agent-1' }],
    },
    {
      name: 'old-template instances that are ready still serve',
      instances: [instance({ name: 'a', hash: OLD, agent: 'agent-1', endpoints: http('10.0.0.1') }), instance({ name: 'n1', state: 'Starting', endpoints: http('10.0.0.9') })],
      want: [{ port: 'http', url: 'http://10.0.0.1:8080', agent: 'agent-1' }],
    },
  ];
  for (const row of endpointCases) {
    test(row.name, () => {
      const status = workloadStatus(workload({ replicas: 2 }), row.instances, NEW, NOW);
      assert.deepEqual(status.endpoints, row.want);
      assert.equal('endpoints' in status, row.want !== undefined);
    });
  }
});

describe('workloadStatus: lastTransitionTime', () => {
  const cond = (type: string, status: Condition['status'], lastTransitionTime: string, reason = 'Old', message = 'old'): Condition => ({ type, status, reason, message, lastTransitionTime });
  interface TransitionCase {
    name: string;
    previous: Condition[] | undefined;
    instances: Instance[];
    /** lastTransitionTime of Available and Progressing. */
    want: [string | undefined, string | undefined];
  }
  const running = [instance({ name: 'a' }), instance({ name: 'b' })];
  const progressing = [instance({ name: 'a' }), instance({ name: 'b', state: 'Starting' })];
  const transitionCases: TransitionCase[] = [
    { name: 'no previous status: both now', previous: undefined, instances: running, want: [NOW, NOW] },
    { name: 'no previous conditions of these types: both now', previous: [cond('Other', 'True', BEFORE)], instances: running, want: [NOW, NOW] },
    {
      name: 'same statuses: both kept, though reason and message change',
      previous: [cond('Available', 'True', BEFORE), cond('Progressing', 'False', BEFORE)],
      instances: running,
      want: [BEFORE, BEFORE],
    },
    {
      name: 'both statuses flip: both now',
      previous: [cond('Available', 'True', BEFORE), cond('Progressing', 'False', BEFORE)],
      instances: progressing,
      want: [NOW, NOW],
    },
    {
      name: 'only Progressing flips: Available kept, Progressing now',
      previous: [cond('Available', 'True', BEFORE), cond('Progressing', 'True', BEFORE)],
      instances: running,
      want: [BEFORE, NOW],
    },
    {
      name: 'only Available flips: Available now, Progressing kept',
      previous: [cond('Available', 'True', BEFORE), cond('Progressing', 'True', BEFORE)],
      instances: progressing,
      want: [NOW, BEFORE],
    },
    {
      name: 'Progressing reason changes (RollingOut → WaitingForReady), status stays True: kept',
      previous: [cond('Available', 'False', BEFORE), cond('Progressing', 'True', BEFORE, 'RollingOut', '1/2 updated, 1 ready')],
      instances: progressing,
      want: [BEFORE, BEFORE],
    },
    {
      name: 'Unknown before, known now: now',
      previous: [cond('Available', 'Unknown', BEFORE), cond('Progressing', 'Unknown', BEFORE)],
      instances: running,
      want: [NOW, NOW],
    },
  ];
  for (const row of transitionCases) {
    test(row.name, () => {
      const status = workloadStatus(workload({ replicas: 2, ...(row.previous ? { conditions: row.previous } : {}) }), row.instances, NEW, NOW);
      assert.deepEqual(
        status.conditions?.map((c) => [c.type, c.lastTransitionTime]),
        [
          ['Available', row.want[0]],
          ['Progressing', row.want[1]],
        ],
      );
    });
  }

  test('the previous status is not modified', () => {
    const previous = [cond('Available', 'True', BEFORE), cond('Progressing', 'False', BEFORE)];
    const w = workload({ replicas: 2, conditions: previous });
    const snapshot = structuredClone(w);
    workloadStatus(w, progressing, NEW, NOW);
    assert.deepEqual(w, snapshot);
  });
});
