// planApply and diffValues are pure: table-tested with fixture builders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planApply } from '../../controlplane/apply/plan-apply.ts';
import { diffValues } from '../../controlplane/apply/object-diff.ts';
import type { StoredObject } from '../../store/types.ts';

function manifest(overrides: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: unknown; kind?: string } = {}): StoredObject {
  return {
    apiVersion: 'lattice/v1',
    kind: overrides.kind ?? 'Workload',
    metadata: { name: 'web', namespace: 'alice', ...(overrides.labels ? { labels: overrides.labels } : {}), ...(overrides.annotations ? { annotations: overrides.annotations } : {}) },
    spec: overrides.spec ?? { command: ['sleep', '1'], replicas: 1 },
  };
}

function live(base: StoredObject, extra: { finalizers?: string[]; status?: unknown } = {}): StoredObject {
  return {
    ...base,
    metadata: { ...base.metadata, uid: 'u-1', resourceVersion: '7', generation: 3, creationTimestamp: '2026-01-01T00:00:00.000Z', ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const restarted = { command: ['sleep', '1'], replicas: 1, restartedAt: '2026-02-01T00:00:00.000Z' };

const cases: { name: string; desired: StoredObject; live?: StoredObject; action: string; diff: string[]; finalizers?: string[]; spec?: unknown }[] = [
  { name: 'absent → created', desired: manifest(), action: 'created', diff: ['add spec'] },
  { name: 'same spec → unchanged', desired: manifest(), live: live(manifest()), action: 'unchanged', diff: [] },
  { name: 'status and server metadata do not count', desired: manifest(), live: live(manifest(), { status: { phase: 'Running' } }), action: 'unchanged', diff: [] },
  { name: 'spec field changed', desired: manifest({ spec: { command: ['sleep', '1'], replicas: 2 } }), live: live(manifest()), action: 'configured', diff: ['replace spec.replicas'] },
  { name: 'spec field added', desired: manifest({ spec: { command: ['sleep', '1'], replicas: 1, args: ['x'] } }), live: live(manifest()), action: 'configured', diff: ['add spec.args'] },
  { name: 'spec field removed', desired: manifest({ spec: { command: ['sleep', '1'] } }), live: live(manifest()), action: 'configured', diff: ['remove spec.replicas'] },
  { name: 'array element changed', desired: manifest({ spec: { command: ['sleep', '2'], replicas: 1 } }), live: live(manifest()), action: 'configured', diff: ['replace spec.command[1]'] },
  { name: 'array length changed', desired: manifest({ spec: { command: ['sleep', '2', '3'], replicas: 1 } }), live: live(manifest()), action: 'configured', diff: ['replace spec.command'] },
  { name: 'label added', desired: manifest({ labels: { app: 'web' } }), live: live(manifest()), action: 'configured', diff: ['add metadata.labels'] },
  { name: 'label removed', desired: manifest({ labels: { app: 'web' } }), live: live(manifest({ labels: { app: 'web', old: 'x' } })), action: 'configured', diff: ['remove metadata.labels.old'] },
  { name: 'prefixed label key', desired: manifest({ labels: { 'example.com/tier': 'a' } }), live: live(manifest({ labels: { 'example.com/tier': 'b' } })), action: 'configured', diff: ['replace metadata.labels["example.com/tier"]'] },
  { name: 'empty labels equal no labels', desired: manifest({ labels: {} }), live: live(manifest()), action: 'unchanged', diff: [] },
  { name: 'annotation changed', desired: manifest({ annotations: { note: 'b' } }), live: live(manifest({ annotations: { note: 'a' } })), action: 'configured', diff: ['replace metadata.annotations.note'] },
  { name: 'live finalizers are kept', desired: manifest(), live: live(manifest(), { finalizers: ['lattice/instances'] }), action: 'unchanged', diff: [], finalizers: ['lattice/instances'] },
  { name: 'a restart marker left out of the manifest stays', desired: manifest(), live: live(manifest({ spec: restarted })), action: 'unchanged', diff: [], spec: restarted },
  { name: 'the restart marker stays through other changes', desired: manifest({ spec: { command: ['sleep', '1'], replicas: 3 } }), live: live(manifest({ spec: restarted })), action: 'configured', diff: ['replace spec.replicas'], spec: { ...restarted, replicas: 3 } },
  { name: 'a manifest may set the restart marker', desired: manifest({ spec: { ...restarted, restartedAt: '2026-03-01T00:00:00.000Z' } }), live: live(manifest({ spec: restarted })), action: 'configured', diff: ['replace spec.restartedAt'] },
  { name: 'secret values never in the diff', desired: manifest({ kind: 'Secret', spec: { data: { password: 'new' } } }), live: live(manifest({ kind: 'Secret', spec: { data: { password: 'old' } } })), action: 'configured', diff: ['replace spec.data.password'] },
];

for (const c of cases) {
  test(`planApply: ${c.name}`, () => {
    const plan = planApply(c.desired, c.live);
    assert.equal(plan.action, c.action);
    assert.deepEqual(plan.diff.map((d) => `${d.op} ${d.path}`), c.diff);
    assert.deepEqual(plan.object.metadata.finalizers, c.finalizers);
    assert.equal(plan.object.metadata.uid, undefined, 'server metadata is never written by apply');
    assert.deepEqual(plan.object.spec, c.spec ?? c.desired.spec);
  });
}

test('planApply: a secret diff marks changed values without showing them', () => {
  const secret = (data: Record<string, string>) => manifest({ kind: 'Secret', spec: { data } });
  const plan = planApply(secret({ password: 'new', user: 'app' }), live(secret({ password: 'old', stale: 'x' })));
  assert.deepEqual(plan.diff, [
    { path: 'spec.data.password', op: 'replace', before: '<redacted>', after: '<redacted> (changed)' },
    { path: 'spec.data.stale', op: 'remove', before: '<redacted>' },
    { path: 'spec.data.user', op: 'add', after: '<redacted>' },
  ]);
  assert.deepEqual(planApply(secret({ password: 'p' }), undefined).diff, [{ path: 'spec', op: 'add', after: { data: { password: '<redacted>' } } }]);
});

test('diffValues reports before and after values', () => {
  assert.deepEqual(diffValues({ a: 1, b: { c: [1, 2] } }, { a: 2, b: { c: [1, 3] }, d: null }), [
    { path: 'a', op: 'replace', before: 1, after: 2 },
    { path: 'b.c[1]', op: 'replace', before: 2, after: 3 },
    { path: 'd', op: 'add', after: null },
  ]);
});
