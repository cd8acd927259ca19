// planPlacement is pure: the end state a dry run of a Workload previews, table-tested.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planPlacement } from '../../controlplane/apply/plan-placement.ts';
import { templateHash } from '../../reconciler/template-hash.ts';
import { secretVersions } from '../../reconciler/secret-refs.ts';
import type { Instance, Secret, ServedAgent, ServedWorkload, ServedWorkloadSpec, WorkloadSpec } from '../../schemas/types.gen.ts';

/** A template as the apply validated it: its defaults filled in (replicas is the workload's). */
type Template = Omit<ServedWorkloadSpec, 'replicas'>;

const V1: Template = { command: ['serve', 'v1'], resources: { cpu: '500m', memory: '64Mi' }, restartPolicy: 'Always' };
const V2: Template = { command: ['serve', 'v2'], resources: { cpu: '500m', memory: '64Mi' }, restartPolicy: 'Always' };

function workload(spec: Template, replicas: number, extra: Partial<Template> = {}): ServedWorkload {
  return { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'web', namespace: 'alice' }, spec: { ...spec, replicas, ...extra } };
}

function agent(name: string, options: { cpu?: string; ready?: boolean; owner?: string; labels?: Record<string, string> } = {}): ServedAgent {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Agent',
    metadata: { name, ...(options.labels ? { labels: options.labels } : {}) },
    // alice's shared agent (she joined it), or someone's private one.
    spec: { unschedulable: false, ...(options.owner ? { owner: options.owner, joinedBy: options.owner } : { joinedBy: 'alice' }) },
    status: {
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True', reason: 'Heartbeat', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      allocatable: { cpu: options.cpu ?? '2', memory: '1Gi' },
      runtimes: ['process'],
    },
  };
}

function instance(name: string, agentName: string, spec: WorkloadSpec, options: { created?: number; ready?: boolean; workload?: string; namespace?: string; lost?: boolean } = {}): Instance {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Instance',
    metadata: { name, namespace: options.namespace ?? 'alice', creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, options.created ?? 1)).toISOString() },
    spec: { workload: options.workload ?? 'web', agent: agentName, template: spec, templateHash: templateHash(spec) },
    status: { state: options.lost ? 'Lost' : options.ready === false ? 'Starting' : 'Running', restarts: 0 },
  };
}

/** A plan as short lines: "a: keep 1, deploy 2, stop x (Replaced)" and "pending 1: reason". */
function lines(plan: ReturnType<typeof planPlacement>): string[] {
  return [
    ...plan.agents.map((a) => `${a.agent}: keep ${a.keep}, deploy ${a.deploy}${a.stop.map((s) => `, stop ${s.instance} (${s.reason})`).join('')}`),
    ...plan.pending.map((p) => `pending ${p.replicas}: ${p.reason}`),
  ];
}

const cases: { name: string; workload: ServedWorkload; instances?: Instance[]; agents: ServedAgent[]; plan: string[] }[] = [
  { name: 'new workload: replicas spread over the agents', workload: workload(V1, 2), agents: [agent('a'), agent('b')], plan: ['a: keep 0, deploy 1', 'b: keep 0, deploy 1'] },
  { name: 'unchanged template, scale up: the running one stays', workload: workload(V1, 2), instances: [instance('web-1', 'a', V1)], agents: [agent('a'), agent('b')], plan: ['a: keep 1, deploy 0', 'b: keep 0, deploy 1'] },
  {
    name: 'scale down: the newest unready one goes first',
    workload: workload(V1, 1),
    instances: [instance('web-1', 'a', V1, { created: 1 }), instance('web-2', 'b', V1, { created: 2 }), instance('web-3', 'a', V1, { created: 3, ready: false })],
    agents: [agent('a'), agent('b')],
    plan: ['a: keep 1, deploy 0, stop web-3 (ScaledDown)', 'b: keep 0, deploy 0, stop web-2 (ScaledDown)'],
  },
  {
    name: 'new template: every old instance is replaced',
    workload: workload(V2, 2),
    instances: [instance('web-1', 'a', V1), instance('web-2', 'b', V1)],
    agents: [agent('a'), agent('b')],
    plan: ['a: keep 0, deploy 1, stop web-1 (Replaced)', 'b: keep 0, deploy 1, stop web-2 (Replaced)'],
  },
  {
    name: 'a restart marker is a new template',
    workload: workload(V1, 1, { restartedAt: '2026-02-01T00:00:00Z' }),
    instances: [instance('web-1', 'a', { ...V1, replicas: 1 })],
    agents: [agent('a')],
    plan: ['a: keep 0, deploy 1, stop web-1 (Replaced)'],
  },
  {
    name: "the capacity other workloads hold counts; the stopped ones' does not",
    workload: workload(V2, 2),
    instances: [instance('web-1', 'a', V1), instance('db-1', 'b', V1, { workload: 'db' }), instance('db-2', 'b', V1, { workload: 'db' }), instance('db-3', 'b', V1, { workload: 'db', namespace: 'bob' })],
    agents: [agent('a', { cpu: '1' }), agent('b', { cpu: '2' })],
    plan: ['a: keep 0, deploy 1, stop web-1 (Replaced)', 'b: keep 0, deploy 1'],
  },
  {
    name: "no room: the rest waits with the reason, which never counts another user's private agent",
    workload: workload(V1, 3),
    agents: [agent('a', { cpu: '1' }), agent('b', { ready: false }), agent('c', { owner: 'bob' })],
    plan: ['a: keep 0, deploy 2', 'pending 1: 0/2 agents can run it: 1 not ready, 1 lacks cpu (needs 500m)'],
  },
  { name: 'lost instances are not kept (nothing runs to stop)', workload: workload(V1, 1), instances: [instance('web-1', 'b', V1, { lost: true })], agents: [agent('a')], plan: ['a: keep 0, deploy 1'] },
  { name: 'replicas 0 stops everything', workload: workload(V1, 0), instances: [instance('web-1', 'a', V1)], agents: [agent('a')], plan: ['a: keep 0, deploy 0, stop web-1 (ScaledDown)'] },
];

for (const c of cases) {
  test(`planPlacement: ${c.name}`, () => {
    assert.deepEqual(lines(planPlacement(c.workload, c.instances ?? [], c.agents)), c.plan);
  });
}

test('planPlacement: the versions of referenced Secrets are part of the template (unchanged Secret: kept; changed: replaced)', () => {
  const spec: Template = { ...V1, env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] };
  const secret = (generation: number): Secret => ({ apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'alice', uid: 'secret-uid', generation }, spec: {} });
  const running = instance('web-1', 'a', spec);
  running.spec.templateHash = templateHash(spec, secretVersions(spec, () => secret(1)));
  assert.deepEqual(lines(planPlacement(workload(spec, 1), [running], [agent('a')], [secret(1)])), ['a: keep 1, deploy 0']);
  assert.deepEqual(lines(planPlacement(workload(spec, 1), [running], [agent('a')], [secret(2)])), ['a: keep 0, deploy 1, stop web-1 (Replaced)']);
});
