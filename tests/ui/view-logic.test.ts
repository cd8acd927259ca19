// The UI's pure logic under node, table-driven: formatting, the label filter (checked against
// the server's own selector on the same cases), routes, and the view models.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Agent, Event as LatticeEvent, Instance, ServedAgent, ServedWorkload } from '../../schemas/types.gen.ts';
import { parseLabelSelector } from '../../store/label-selector.ts';
import { approximateCpu, approximateMemory } from '../../schemas/quantity.ts';
import { age, memoryBytes, milliCpu, safeHref } from '../../ui/src/format.ts';
import { parseLabelFilter } from '../../ui/src/label-filter.ts';
import { parseRoute, workloadHref, workloadsHref } from '../../ui/src/router.ts';
import { agentRows, conditionMeaning, eventsForWorkload, eventsIn, namespaceChoices, newestFirst, runtimeLabels, specSummary, workloadRows } from '../../ui/src/view-models.ts';
import { appendLogText, chartOf, stripAnsi } from '../../ui/src/instance-usage.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');

test('age reads like kubectl', () => {
  const cases: [string | undefined, string][] = [
    ['2026-01-01T12:00:00Z', '0s'],
    ['2026-01-01T11:59:15Z', '45s'],
    ['2026-01-01T11:58:01Z', '119s'],
    ['2026-01-01T11:55:00Z', '5m'],
    ['2026-01-01T10:00:01Z', '119m'],
    ['2026-01-01T09:00:00Z', '3h'],
    ['2025-12-29T12:00:00Z', '3d'],
    ['2026-01-01T12:00:05Z', '0s'], // a clock a little ahead
    [undefined, '—'],
    ['not a time', '—'],
  ];
  for (const [iso, expected] of cases) assert.equal(age(iso, NOW), expected, String(iso));
});

test('quantities parse like the schema and print in Kubernetes units', () => {
  assert.deepEqual(['500m', '1', '1.5', '0.25', '2.125', 'x', '1.2345', undefined].map(milliCpu), [500, 1000, 1500, 250, 2125, undefined, undefined, undefined]);
  assert.deepEqual(['256Mi', '1Gi', '500M', '1024', '1k', '3Pi', undefined].map(memoryBytes), [256 * 2 ** 20, 2 ** 30, 5e8, 1024, 1000, undefined, undefined]);
  assert.deepEqual([0, 250, 1000, 1500, 2000, 999].map(approximateCpu), ['0', '250m', '1', '1.5', '2', '999m']);
  assert.deepEqual([0, 900, 2048, 256 * 2 ** 20, 1.5 * 2 ** 30, 24.7 * 2 ** 30].map(approximateMemory), ['0', '900', '2Ki', '256Mi', '1.5Gi', '24.7Gi']);
});

test('only http(s) endpoints become links', () => {
  assert.equal(safeHref('http://127.0.0.1:8080'), 'http://127.0.0.1:8080/');
  assert.equal(safeHref('https://example.ngrok.app/x'), 'https://example.ngrok.app/x');
  for (const url of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'tcp://127.0.0.1:5432', 'not a url']) assert.equal(safeHref(url), undefined, url);
});

test('the label filter matches exactly what the server selector matches', () => {
  const labels: Record<string, string>[] = [{}, { app: 'web' }, { app: 'web', tier: 'front' }, { app: 'db', tier: 'back', debug: '' }, { 'lattice.dev/workload': 'web' }];
  const selectors = ['', 'app=web', 'app==web', 'app!=web', 'app', '!app', 'tier in (front,back)', 'tier notin (front)', 'app=web,tier', 'app=db , !debug', 'debug=', 'lattice.dev/workload=web'];
  for (const selector of selectors) {
    const server = parseLabelSelector(selector);
    const ui = parseLabelFilter(selector);
    assert.ok(ui.ok, selector);
    for (const set of labels) assert.equal(ui.matches(set), server.matches(set), `${JSON.stringify(selector)} on ${JSON.stringify(set)}`);
  }
  for (const bad of ['app=web,', ',', 'a b c', 'tier in (', '=web']) {
    const ui = parseLabelFilter(bad);
    assert.equal(ui.ok, false, bad);
    assert.throws(() => parseLabelSelector(bad), Error, `the server refuses ${JSON.stringify(bad)} too`);
  }
});

test('routes: every view has an address; unknown ones are not-found', () => {
  const cases: [string, string, ReturnType<typeof parseRoute>][] = [
    ['/', '', { view: 'workloads', namespace: '', labels: '' }],
    ['/workloads', '?namespace=alice&labels=app%3Dweb', { view: 'workloads', namespace: 'alice', labels: 'app=web' }],
    ['/workloads/alice/web', '', { view: 'workload', namespace: 'alice', name: 'web' }],
    ['/agents', '', { view: 'agents' }],
    ['/events/', '', { view: 'events' }],
    ['/workloads/alice', '', { view: 'not-found', path: '/workloads/alice' }],
    ['/secrets', '', { view: 'not-found', path: '/secrets' }],
  ];
  for (const [path, search, expected] of cases) assert.deepEqual(parseRoute(path, search), expected, path + search);
  assert.equal(workloadHref('alice', 'web'), '/workloads/alice/web');
  assert.equal(workloadsHref({ namespace: 'alice', labels: 'app=web' }), '/workloads?namespace=alice&labels=app%3Dweb');
  assert.equal(workloadsHref({}), '/workloads');
});

const meta = (namespace: string | undefined, name: string, extra: Record<string, unknown> = {}) => ({ name, ...(namespace ? { namespace } : {}), uid: `${namespace}-${name}`, ...extra });

function workload(namespace: string, name: string, status: ServedWorkload['status'] = {}, labels: Record<string, string> = {}): ServedWorkload {
  return { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { ...meta(namespace, name), labels, creationTimestamp: '2026-01-01T11:00:00Z' }, spec: { command: ['x'], replicas: 2, restartPolicy: 'Always' }, status };
}

function instance(namespace: string, name: string, workloadName: string, agent: string | undefined, restarts: number, resources: { cpu?: string; memory?: string } = {}, deleting = false): Instance {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Instance',
    metadata: { ...meta(namespace, name), ...(deleting ? { deletionTimestamp: '2026-01-01T11:59:00Z' } : {}) },
    spec: { workload: workloadName, ...(agent ? { agent } : {}), template: { command: ['x'], resources }, templateHash: 'h' },
    status: { state: 'Running', restarts },
  };
}

test('workload rows: phase, ready/desired, restarts summed over instances, filters', () => {
  const workloads = [workload('alice', 'api', { phase: 'Running', readyReplicas: 2, endpoints: [{ port: 'http', url: 'http://127.0.0.1:1' }] }, { app: 'api' }), workload('alice', 'web', {}, { app: 'web' }), workload('bob', 'web', { phase: 'Failed' })];
  workloads[1]!.metadata.deletionTimestamp = '2026-01-01T11:59:00Z';
  const instances = [instance('alice', 'api-1', 'api', 'a1', 2), instance('alice', 'api-2', 'api', 'a2', 3), instance('bob', 'api-1', 'api', 'a1', 7)];
  const rows = workloadRows(workloads, instances);
  assert.deepEqual(
    rows.map((r) => [r.key, r.phase, `${r.ready}/${r.desired}`, r.restarts, r.endpoints.length]),
    [
      ['alice/api', 'Running', '2/2', 5, 1],
      ['alice/web', 'Terminating', '0/2', 0, 0],
      ['bob/web', 'Failed', '0/2', 0, 0],
    ],
  );
  assert.deepEqual(workloadRows(workloads, instances, { namespace: 'bob' }).map((r) => r.key), ['bob/web']);
  const filter = parseLabelFilter('app=web');
  assert.ok(filter.ok);
  assert.deepEqual(workloadRows(workloads, instances, { labels: filter.matches }).map((r) => r.key), ['alice/web']);
  assert.deepEqual(namespaceChoices(['carol'], workloads), ['alice', 'bob', 'carol']);
});

test('agent rows: allocation counts the bound instances that are not being deleted, against allocatable', () => {
  const agents: ServedAgent[] = [
    { apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'laptop', labels: { zone: 'home' } }, spec: { unschedulable: false }, status: { conditions: [{ type: 'Ready', status: 'True' }], capacity: { cpu: '4000m', memory: '8Gi' }, allocatable: { cpu: '2', memory: '4Gi' }, runtimes: ['process'], lastHeartbeatTime: '2026-01-01T11:59:58Z' } },
    { apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'vps' }, spec: { owner: 'alice', unschedulable: true }, status: { capacity: { cpu: '1', memory: '1Gi' } } },
  ];
  const instances = [
    instance('alice', 'a', 'web', 'laptop', 0, { cpu: '500m', memory: '256Mi' }),
    instance('alice', 'b', 'web', 'laptop', 0, { cpu: '250m' }),
    instance('alice', 'c', 'web', 'laptop', 0, { cpu: '1', memory: '1Gi' }, true),
    instance('alice', 'd', 'web', undefined, 0, { cpu: '1' }),
  ];
  const [laptop, vps] = agentRows(agents, instances);
  assert.deepEqual(
    { ready: laptop!.ready?.status, cpu: laptop!.cpu, memory: laptop!.memory, instances: laptop!.instances, labels: laptop!.labels, runtimes: laptop!.runtimes },
    { ready: 'True', cpu: { used: 750, total: 2000 }, memory: { used: 256 * 2 ** 20, total: 4 * 2 ** 30 }, instances: 2, labels: [['zone', 'home']], runtimes: ['process (owner only)'] },
  );
  assert.deepEqual({ ready: vps!.ready, cpu: vps!.cpu, instances: vps!.instances, owner: vps!.owner, unschedulable: vps!.unschedulable }, { ready: undefined, cpu: { used: 0, total: 1000 }, instances: 0, owner: 'alice', unschedulable: true });
});

function event(namespace: string, name: string, kind: string, about: string, last: string): LatticeEvent {
  return { apiVersion: 'lattice/v1', kind: 'Event', metadata: meta(namespace, name), spec: { involvedObject: { kind, namespace, name: about }, reason: 'R', lastTimestamp: last } };
}

test('events: newest first with a stable tie-break; a workload sees its own and its instances', () => {
  const events = [
    event('alice', 'e1', 'Workload', 'web', '2026-01-01T11:00:00Z'),
    event('alice', 'e3', 'Instance', 'web-x', '2026-01-01T11:30:00Z'),
    event('alice', 'e2', 'Workload', 'web', '2026-01-01T11:30:00Z'),
    event('alice', 'e4', 'Workload', 'api', '2026-01-01T11:45:00Z'),
    event('bob', 'e5', 'Workload', 'web', '2026-01-01T11:50:00Z'),
  ];
  assert.deepEqual(newestFirst(events).map((e) => e.metadata.name), ['e5', 'e4', 'e2', 'e3', 'e1']);
  assert.deepEqual(eventsForWorkload(events, 'alice', 'web', new Set(['web-x'])).map((e) => e.metadata.name), ['e2', 'e3', 'e1']);
  assert.deepEqual(eventsIn(events, 'bob').map((e) => e.metadata.name), ['e5']);
  assert.equal(eventsIn(events, '').length, 5, 'every namespace');

  // A workload deleted and applied again under the same name: the old one's events are not its own.
  const old = { ...event('alice', 'e6', 'Workload', 'web', '2026-01-01T12:00:00Z') };
  old.spec.involvedObject.uid = 'uid-old';
  const current = event('alice', 'e7', 'Workload', 'web', '2026-01-01T12:05:00Z');
  current.spec.involvedObject.uid = 'uid-new';
  assert.deepEqual(eventsForWorkload([old, current], 'alice', 'web', new Set(), 'uid-new').map((e) => e.metadata.name), ['e7']);
});

test('the spec summary names secret references but never holds a value from them', () => {
  // As served: the defaults are filled in.
  const lines = specSummary({
    image: 'postgres:16',
    command: ['docker-entrypoint.sh'],
    args: ['postgres'],
    env: [{ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }, { name: 'MODE', value: 'inline-value-not-shown' }],
    replicas: 1,
    restartPolicy: 'Always',
    ports: [{ name: 'pg', containerPort: 5432, protocol: 'tcp', expose: 'tunnel' }],
    resources: { cpu: '500m', memory: '256Mi' },
    placement: { agentSelector: { zone: 'home' } },
    healthCheck: { tcp: { port: 'pg' }, intervalSeconds: 5, failureThreshold: 3 },
    volumes: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
  });
  assert.deepEqual(Object.fromEntries(lines.map((l) => [l.label, l.value])), {
    Image: 'postgres:16',
    Entrypoint: 'docker-entrypoint.sh',
    Args: 'postgres',
    Replicas: '1',
    Ports: 'pg 5432/tcp (expose tunnel)',
    Resources: 'cpu 500m, memory 256Mi',
    Placement: 'agents with zone=home',
    'Restart policy': 'Always',
    'Health check': 'tcp on pg, every 5s',
    Environment: 'POSTGRES_PASSWORD (from secret db.password), MODE',
    Volumes: 'data at /var/lib/postgresql/data',
  });
});

test('runtimes show whose workloads they take where the trust model limits it', () => {
  const agent = (status: Agent['status']): Agent => ({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'a' }, spec: {}, status });
  assert.deepEqual(runtimeLabels(agent({ runtimes: ['docker', 'process'], dockerNetwork: 'bridge' })), ['docker', 'process (owner only)']);
  assert.deepEqual(runtimeLabels(agent({ runtimes: ['docker', 'process'], dockerNetwork: 'host', tenantProcesses: true })), ['docker (host network, owner only)', 'process (every tenant)']);
  assert.deepEqual(runtimeLabels(agent({ runtimes: ['docker'], dockerNetwork: 'host', tenantHostNetwork: true })), ['docker (host network, every tenant)']);
  assert.deepEqual(runtimeLabels(agent(undefined)), []);
});

test('charts: points newest at the right edge, a scale that fits readings and limits, a young series spread over its first minute', () => {
  const now = Date.parse('2026-01-01T00:15:00.000Z');
  const sample = (secondsAgo: number, cpuCores: number) => ({ at: new Date(now - secondsAgo * 1000).toISOString(), cpuCores, memoryBytes: 0 });
  const full = chartOf([sample(900, 0.1), sample(450, 0.2), sample(0, 0.1)], (s) => s.cpuCores, { width: 300, height: 100 }, [0.5], now);
  assert.equal(full.points, '0,81.8 150,63.6 300,81.8');
  assert.deepEqual(full.lines, [9.1], 'the limit, under the 10% headroom');
  assert.ok(Math.abs(full.max - 0.55) < 1e-9);
  const young = chartOf([sample(30, 1), sample(0, 1)], (s) => s.cpuCores, { width: 300, height: 100 }, [], now);
  assert.equal(young.points, '150,9.1 300,9.1', 'half a minute of readings spans half the chart, not a sliver');
  assert.equal(chartOf([], (s) => s.cpuCores, { width: 300, height: 100 }, [], now).points, '');
});

test('log text: split into lines across chunks, colour codes stripped, the oldest dropped past the limit', () => {
  const lines: string[] = [];
  let rest = appendLogText(lines, '', 'one\n\u001b[31mtw', 3);
  rest = appendLogText(lines, rest, 'o\u001b[0m\nthree\nfour\n', 3);
  assert.equal(rest, '');
  assert.deepEqual(lines, ['two', 'three', 'four']);
  assert.equal(stripAnsi('\u001b]0;title\u0007\u001b[1;32mok\u001b[0m'), 'ok');
});

test('condition badges say what a condition means: a failing rollout is a warning, not work in progress', () => {
  assert.equal(conditionMeaning({ type: 'Progressing', status: 'True', reason: 'InstanceFailing' }), 'warn');
  assert.equal(conditionMeaning({ type: 'Progressing', status: 'True', reason: 'RollingOut' }), 'info');
  assert.equal(conditionMeaning({ type: 'Progressing', status: 'False', reason: 'AllReplicasReady' }), 'good');
  assert.equal(conditionMeaning({ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }), 'warn');
  assert.equal(conditionMeaning({ type: 'TunnelReady', status: 'True', reason: 'Reported' }), 'good');
  assert.equal(conditionMeaning({ type: 'SecondConnection', status: 'True', reason: 'CredentialReused' }), 'warn');
  assert.equal(conditionMeaning({ type: 'Ready', status: 'Unknown', reason: 'NoHeartbeat' }), 'quiet');
});
