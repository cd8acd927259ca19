// planWorkload, table by table (after Nomad's reconcile_test.go): steady-state scaling, Lost
// instances, deleting instances and workloads, and rolling updates that surge by one and never
// drop below the desired number of ready replicas. Every row asserts all three buckets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDeleting, isReady } from '../../reconciler/instance-state.ts';
import { planWorkload } from '../../reconciler/plan-workload.ts';
import type { StopDecision } from '../../reconciler/plan-workload.ts';
import type { Instance } from '../../schemas/types.gen.ts';
import { NEW, OLD, instance, workload } from './fixtures.ts';
import type { WorkloadOptions } from './fixtures.ts';

interface Want {
  place: number;
  /** `name:Reason`, in the order the plan gives them (its stop priority). */
  stop: string[];
  /** Names, in input order. */
  ignore: string[];
}

interface Case {
  name: string;
  workload: WorkloadOptions;
  instances: Instance[];
  /** The template hash the workload wants; NEW unless told. */
  hash?: string;
  want: Want;
  todo?: string;
}

const stopped = (stop: StopDecision[]) => stop.map((s) => `${s.instance.metadata.name}:${s.reason}`);

const cases: Case[] = [
  // Steady state: every instance runs the current template.
  { name: 'no instances, 3 replicas: place 3', workload: { replicas: 3 }, instances: [], want: { place: 3, stop: [], ignore: [] } },
  { name: 'no instances, replicas unset: place the default 1', workload: {}, instances: [], want: { place: 1, stop: [], ignore: [] } },
  {
    name: 'at the desired count: nothing to do',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b' })],
    want: { place: 0, stop: [], ignore: ['a', 'b'] },
  },
  {
    name: 'scale up 2 → 4: place 2, keep both',
    workload: { replicas: 4 },
    instances: [instance({ name: 'a' }), instance({ name: 'b' })],
    want: { place: 2, stop: [], ignore: ['a', 'b'] },
  },
  {
    name: 'unready instances count toward the desired count',
    workload: { replicas: 3 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Starting' }), instance({ name: 'c', state: 'Pending', agent: null })],
    want: { place: 0, stop: [], ignore: ['a', 'b', 'c'] },
  },
  {
    name: 'scale down 4 → 2, all ready: stop the two newest',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', created: 1 }), instance({ name: 'b', created: 2 }), instance({ name: 'c', created: 3 }), instance({ name: 'd', created: 4 })],
    want: { place: 0, stop: ['d:ScaledDown', 'c:ScaledDown'], ignore: ['a', 'b'] },
  },
  {
    name: 'scale down 3 → 2: the unready instance goes before a newer ready one',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', created: 1 }), instance({ name: 'b', created: 2, state: 'Starting' }), instance({ name: 'c', created: 3 })],
    want: { place: 0, stop: ['b:ScaledDown'], ignore: ['a', 'c'] },
  },
  {
    name: 'scale down 4 → 1: unready first (newest first among them), then the newest ready',
    workload: { replicas: 1 },
    instances: [
      instance({ name: 'a', created: 1 }),
      instance({ name: 'b', created: 2, state: 'Failed' }),
      instance({ name: 'c', created: 3 }),
      instance({ name: 'd', created: 4, state: 'Pending', agent: null }),
    ],
    want: { place: 0, stop: ['d:ScaledDown', 'b:ScaledDown', 'c:ScaledDown'], ignore: ['a'] },
  },
  {
    name: 'scale down: Running but Unhealthy counts as unready',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', created: 1, health: 'Unhealthy' }), instance({ name: 'b', created: 2, health: 'Healthy' })],
    want: { place: 0, stop: ['a:ScaledDown'], ignore: ['b'] },
  },
  {
    name: 'scale down: same creation time, the later name goes first',
    workload: { replicas: 1 },
    instances: [instance({ name: 'x', created: 5 }), instance({ name: 'y', created: 5 }), instance({ name: 'z', created: 5 })],
    want: { place: 0, stop: ['z:ScaledDown', 'y:ScaledDown'], ignore: ['x'] },
  },
  {
    name: 'zero replicas: stop every instance',
    workload: { replicas: 0 },
    instances: [instance({ name: 'a', created: 1 }), instance({ name: 'b', created: 2, state: 'Starting' })],
    want: { place: 0, stop: ['b:ScaledDown', 'a:ScaledDown'], ignore: [] },
  },
  { name: 'zero replicas, no instances: nothing to do', workload: { replicas: 0 }, instances: [], want: { place: 0, stop: [], ignore: [] } },

  // Lost instances: stopped with reason Lost and replaced.
  {
    name: 'one of two Lost: stop it (Lost) and place one',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Lost' })],
    want: { place: 1, stop: ['b:Lost'], ignore: ['a'] },
  },
  {
    name: 'all Lost: stop all (Lost) and place all',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', state: 'Lost' }), instance({ name: 'b', state: 'Lost' })],
    want: { place: 2, stop: ['a:Lost', 'b:Lost'], ignore: [] },
  },
  {
    name: 'Lost while scaling down: Lost stopped, then the newest live one',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', created: 1 }), instance({ name: 'b', created: 2 }), instance({ name: 'c', created: 3, state: 'Lost' })],
    want: { place: 0, stop: ['c:Lost', 'b:ScaledDown'], ignore: ['a'] },
  },
  {
    name: 'Lost while scaling to zero: Lost, not ScaledDown',
    workload: { replicas: 0 },
    instances: [instance({ name: 'a', state: 'Lost' })],
    want: { place: 0, stop: ['a:Lost'], ignore: [] },
  },

  // Instances already being deleted: not counted, not stopped again, not in any bucket.
  {
    name: 'a deleting instance does not count: place its replacement',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', deleting: true })],
    want: { place: 1, stop: [], ignore: ['a'] },
  },
  {
    name: 'a deleting Lost instance is not stopped again',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', state: 'Lost', deleting: true })],
    want: { place: 0, stop: [], ignore: ['a'] },
  },
  {
    name: 'deleting old-template instances do not start a rollout',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a' }), instance({ name: 'b', hash: OLD, deleting: true })],
    want: { place: 0, stop: [], ignore: ['a'] },
  },

  // The workload itself is being deleted.
  {
    name: 'workload deleted: stop every instance (WorkloadDeleted), whatever its state or template',
    workload: { replicas: 3, deleting: true },
    instances: [
      instance({ name: 'a' }),
      instance({ name: 'b', hash: OLD }),
      instance({ name: 'c', state: 'Lost' }),
      instance({ name: 'd', state: 'Pending', agent: null }),
      instance({ name: 'e', deleting: true }),
    ],
    want: { place: 0, stop: ['a:WorkloadDeleted', 'b:WorkloadDeleted', 'c:WorkloadDeleted', 'd:WorkloadDeleted'], ignore: [] },
  },
  { name: 'workload deleted, no instances: place nothing', workload: { replicas: 3, deleting: true }, instances: [], want: { place: 0, stop: [], ignore: [] } },

  // Rolling update, R=2, one step at a time (old = OLD hash, n* = NEW hash).
  {
    name: 'rollout R=2, step 1: place exactly one new, stop nothing',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 })],
    want: { place: 1, stop: [], ignore: ['a', 'b'] },
  },
  {
    name: 'rollout R=2, step 2: new one not ready yet, nothing more',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'n1', state: 'Starting', created: 3 })],
    want: { place: 0, stop: [], ignore: ['a', 'b', 'n1'] },
  },
  {
    name: 'rollout R=2, step 2: new one Running but Unhealthy is not ready, nothing more',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'n1', health: 'Unhealthy', created: 3 })],
    want: { place: 0, stop: [], ignore: ['a', 'b', 'n1'] },
  },
  {
    name: 'rollout R=2, step 3: new one ready, the newest ready old one is replaced',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'n1', created: 3 })],
    want: { place: 0, stop: ['b:Replaced'], ignore: ['a', 'n1'] },
  },
  {
    name: 'rollout R=2, step 4: one old left, place the second new',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'n1', created: 3 })],
    want: { place: 1, stop: [], ignore: ['a', 'n1'] },
  },
  {
    name: 'rollout R=2, step 5: second new not ready, keep the last old',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'n1', created: 3 }), instance({ name: 'n2', state: 'Starting', created: 4 })],
    want: { place: 0, stop: [], ignore: ['a', 'n1', 'n2'] },
  },
  {
    name: 'rollout R=2, step 6: second new ready, the last old is replaced',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'n1', created: 3 }), instance({ name: 'n2', created: 4 })],
    want: { place: 0, stop: ['a:Replaced'], ignore: ['n1', 'n2'] },
  },
  {
    name: 'rollout R=2, done: nothing to do',
    workload: { replicas: 2 },
    instances: [instance({ name: 'n1', created: 3 }), instance({ name: 'n2', created: 4 })],
    want: { place: 0, stop: [], ignore: ['n1', 'n2'] },
  },

  // Rolling update, R=3.
  {
    name: 'rollout R=3, step 1: place exactly one new, stop nothing',
    workload: { replicas: 3 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'c', hash: OLD, created: 3 })],
    want: { place: 1, stop: [], ignore: ['a', 'b', 'c'] },
  },
  {
    name: 'rollout R=3: new one not ready, nothing more',
    workload: { replicas: 3 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2 }),
      instance({ name: 'c', hash: OLD, created: 3 }),
      instance({ name: 'n1', state: 'Pending', created: 4 }),
    ],
    want: { place: 0, stop: [], ignore: ['a', 'b', 'c', 'n1'] },
  },
  {
    name: 'rollout R=3: new one ready, exactly one ready old one replaced',
    workload: { replicas: 3 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2 }),
      instance({ name: 'c', hash: OLD, created: 3 }),
      instance({ name: 'n1', created: 4 }),
    ],
    want: { place: 0, stop: ['c:Replaced'], ignore: ['a', 'b', 'n1'] },
  },
  {
    name: 'rollout R=3: two new ready, one old left, surge the last new',
    workload: { replicas: 3 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'n1', created: 4 }), instance({ name: 'n2', created: 5 })],
    want: { place: 1, stop: [], ignore: ['a', 'n1', 'n2'] },
  },

  // Unready old instances cost no availability: they go early.
  {
    name: 'rollout R=2: unready old one replaced right away, alongside the first placement',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2, state: 'Failed' })],
    want: { place: 1, stop: ['b:Replaced'], ignore: ['a'] },
  },
  {
    name: 'rollout R=2 at the surge: unready old one replaced while the new one starts',
    workload: { replicas: 2 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2, state: 'Starting' }),
      instance({ name: 'n1', state: 'Starting', created: 3 }),
    ],
    want: { place: 0, stop: ['b:Replaced'], ignore: ['a', 'n1'] },
  },
  {
    name: 'rollout R=2, all old unready: one goes, one new placed, live stays at R',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1, state: 'Failed' }), instance({ name: 'b', hash: OLD, created: 2, state: 'Failed' })],
    want: { place: 1, stop: ['b:Replaced'], ignore: ['a'] },
  },
  {
    name: 'rollout R=2, an old instance pending placement is replaced first',
    workload: { replicas: 2 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2 }),
      instance({ name: 'c', hash: OLD, created: 3, state: 'Pending', agent: null }),
    ],
    want: { place: 0, stop: ['c:Replaced'], ignore: ['a', 'b'] },
  },
  {
    name: 'template changed mid-rollout (v1 → v2 → v3): the unready v2 instance is replaced',
    workload: { replicas: 2 },
    hash: 'v3',
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'n1', hash: NEW, state: 'Starting', created: 3 })],
    want: { place: 0, stop: ['n1:Replaced'], ignore: ['a', 'b'] },
  },

  // Scaling during a rollout.
  {
    name: 'rollout with scale down 3 → 2: one ready old one goes, ready stays at 2',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'c', hash: OLD, created: 3 })],
    want: { place: 0, stop: ['c:Replaced'], ignore: ['a', 'b'] },
  },
  {
    name: 'rollout with scale down 3 → 1: over the surge (ScaledDown), then down to R ready (Replaced)',
    workload: { replicas: 1 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'c', hash: OLD, created: 3 })],
    want: { place: 0, stop: ['c:ScaledDown', 'b:Replaced'], ignore: ['a'] },
  },
  {
    name: 'rollout with scale down 3 → 2 after the surge was placed: back to R+1 live',
    workload: { replicas: 2 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2 }),
      instance({ name: 'c', hash: OLD, created: 3 }),
      instance({ name: 'n1', state: 'Starting', created: 4 }),
    ],
    want: { place: 0, stop: ['c:ScaledDown'], ignore: ['a', 'b', 'n1'] },
  },
  {
    name: 'rollout with scale down: two unready new over the surge, ready old ones kept',
    workload: { replicas: 2 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2 }),
      instance({ name: 'n1', state: 'Starting', created: 3 }),
      instance({ name: 'n2', state: 'Starting', created: 4 }),
    ],
    want: { place: 0, stop: ['n2:ScaledDown'], ignore: ['a', 'b', 'n1'] },
  },
  {
    name: 'rollout with scale up 2 → 3: one new at a time, old ones kept',
    workload: { replicas: 3 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 })],
    want: { place: 1, stop: [], ignore: ['a', 'b'] },
  },
  {
    name: 'rollout with scale to zero: every old instance goes',
    workload: { replicas: 0 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 })],
    want: { place: 0, stop: ['b:ScaledDown', 'a:Replaced'], ignore: [] },
  },

  // Mixed templates with Lost instances.
  {
    name: 'rollout R=2, an old one Lost: stop it (Lost) and place one new',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2, state: 'Lost' })],
    want: { place: 1, stop: ['b:Lost'], ignore: ['a'] },
  },
  {
    name: 'rollout R=2, the new one Lost: stop it (Lost) and place another',
    workload: { replicas: 2 },
    instances: [instance({ name: 'a', hash: OLD, created: 1 }), instance({ name: 'b', hash: OLD, created: 2 }), instance({ name: 'n1', created: 3, state: 'Lost' })],
    want: { place: 1, stop: ['n1:Lost'], ignore: ['a', 'b'] },
  },
  {
    name: 'rollout R=2, one old and one new Lost: both stopped, the ready new one lets a second placement in',
    workload: { replicas: 2 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2, state: 'Lost' }),
      instance({ name: 'n1', created: 3 }),
      instance({ name: 'n2', created: 4, state: 'Lost' }),
    ],
    want: { place: 1, stop: ['b:Lost', 'n2:Lost'], ignore: ['a', 'n1'] },
  },
  {
    name: 'rollout R=3, two old ones Lost: both replaced (live back to R)',
    workload: { replicas: 3 },
    instances: [
      instance({ name: 'a', hash: OLD, created: 1 }),
      instance({ name: 'b', hash: OLD, created: 2, state: 'Lost' }),
      instance({ name: 'c', hash: OLD, created: 3, state: 'Lost' }),
    ],
    want: { place: 2, stop: ['b:Lost', 'c:Lost'], ignore: ['a'] },
  },
];

describe('planWorkload', () => {
  for (const row of cases) {
    test(row.name, { todo: row.todo }, () => {
      const plan = planWorkload(workload(row.workload), row.instances, row.hash ?? NEW);
      assert.deepEqual(
        { place: plan.place, stop: stopped(plan.stop), ignore: plan.ignore.map((i) => i.metadata.name) },
        row.want,
      );
    });
  }

  test('every input instance not being deleted lands in exactly one of stop and ignore', () => {
    for (const row of cases) {
      const plan = planWorkload(workload(row.workload), row.instances, row.hash ?? NEW);
      const names = [...plan.stop.map((s) => s.instance), ...plan.ignore].map((i) => i.metadata.name).sort();
      const current = row.instances.filter((i) => !isDeleting(i)).map((i) => i.metadata.name).sort();
      assert.deepEqual(names, current, row.name);
    }
  });

  test('the input is not modified', () => {
    const instances = [instance({ name: 'a', hash: OLD, created: 2 }), instance({ name: 'b', hash: OLD, created: 1 }), instance({ name: 'c', created: 3 })];
    const snapshot = structuredClone(instances);
    planWorkload(workload({ replicas: 1 }), instances, NEW);
    assert.deepEqual(instances, snapshot);
  });
});

// The whole rollout, driven like the controller would: apply each plan (stopped instances leave,
// placed ones arrive Starting), check the invariants, mark the new ones ready, plan again.
interface Rollout {
  name: string;
  /** How many ready old instances there are at the start. */
  from: number;
  replicas: number;
}

const rollouts: Rollout[] = [
  { name: 'R=1', from: 1, replicas: 1 },
  { name: 'R=2', from: 2, replicas: 2 },
  { name: 'R=3', from: 3, replicas: 3 },
  { name: 'R=5', from: 5, replicas: 5 },
  { name: 'R=3 → 2 (scale down during the rollout)', from: 3, replicas: 2 },
  { name: 'R=3 → 1 (scale down during the rollout)', from: 3, replicas: 1 },
  { name: 'R=2 → 4 (scale up during the rollout)', from: 2, replicas: 4 },
];

describe('planWorkload: a full rollout, step by step', () => {
  for (const row of rollouts) {
    test(row.name, () => {
      const R = row.replicas;
      let created = 0;
      let instances: Instance[] = Array.from({ length: row.from }, (_, i) => instance({ name: `old-${i}`, hash: OLD, created: ++created }));
      const ready = () => instances.filter((i) => !isDeleting(i) && isReady(i)).length;
      const live = () => instances.filter((i) => !isDeleting(i)).length;
      // Once R ready replicas exist, the rollout may never go below R.
      const floor = Math.min(row.from, R);
      const check = (when: string) => {
        assert.ok(ready() >= floor, `${when}: ${ready()} ready < ${floor}`);
        assert.ok(live() <= R + 1, `${when}: ${live()} live > R+1`);
      };

      let placed = 0;
      let converged = false;
      for (let step = 1; step <= 50; step++) {
        const plan = planWorkload(workload({ replicas: R }), instances, NEW);
        if (plan.place === 0 && plan.stop.length === 0) {
          converged = true;
          break;
        }
        const stopping = new Set(plan.stop.map((s) => s.instance));
        instances = instances.filter((i) => !stopping.has(i));
        for (let n = 0; n < plan.place; n++) instances.push(instance({ name: `new-${placed++}`, state: 'Starting', created: ++created }));
        check(`step ${step}, plan applied`);
        // Surge by one: never more than one new instance not ready at a time, except that a
        // scale-up makes up its deficit at once.
        assert.ok(instances.filter((i) => !isReady(i)).length <= Math.max(1, R - row.from), `step ${step}: more instances starting than the surge allows`);
        // Planning again before the new instance is ready adds nothing and stops nothing ready.
        const again = planWorkload(workload({ replicas: R }), instances, NEW);
        if (instances.some((i) => i.spec.templateHash === NEW && !isReady(i))) {
          assert.equal(again.place, 0, `step ${step}: placed again while a new instance starts`);
          assert.deepEqual(again.stop.filter((s) => isReady(s.instance)).map((s) => s.instance.metadata.name), [], `step ${step}: stopped a ready instance while a new one starts`);
        }
        instances = instances.map((i) => (i.status?.state === 'Starting' ? { ...i, status: { ...i.status, state: 'Running' } } : i));
        check(`step ${step}, new instances ready`);
      }
      assert.ok(converged, 'the rollout did not converge in 50 steps');
      assert.deepEqual(
        instances.map((i) => [i.spec.templateHash, i.status?.state]),
        Array.from({ length: R }, () => [NEW, 'Running']),
      );
      assert.equal(placed, R, 'each replica is placed exactly once (no churn)');
    });
  }

  test('a rollout that starts with one old instance unready replaces it first and never drops the ready one', () => {
    let instances: Instance[] = [instance({ name: 'old-0', hash: OLD, created: 1 }), instance({ name: 'old-1', hash: OLD, created: 2, state: 'Failed' })];
    const plan = planWorkload(workload({ replicas: 2 }), instances, NEW);
    assert.deepEqual(stopped(plan.stop), ['old-1:Replaced']);
    assert.equal(plan.place, 1);
    instances = [instances[0]!, instance({ name: 'new-0', state: 'Running', created: 3 })];
    const next = planWorkload(workload({ replicas: 2 }), instances, NEW);
    assert.deepEqual({ place: next.place, stop: stopped(next.stop) }, { place: 1, stop: [] });
  });

  test('creation timestamps: an instance without one sorts as the oldest', () => {
    const noTimestamp = instance({ name: 'z' });
    delete noTimestamp.metadata.creationTimestamp;
    const plan = planWorkload(workload({ replicas: 1 }), [noTimestamp, instance({ name: 'a', created: 1 })], NEW);
    assert.deepEqual(stopped(plan.stop), ['a:ScaledDown']);
  });
});
