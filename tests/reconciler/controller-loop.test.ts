// The one loop every controller runs in (controllerQueue over a Controller), on a manual clock:
// requeueAfterMs brings a key back then and not before, errors back off per key, keys are
// deduplicated, and stop()/start() leave nothing behind. Nothing here sleeps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Controller, ReconcileResult } from '../../reconciler/controller.ts';
import { controllerQueue, type WorkQueueOptions } from '../../reconciler/work-queue.ts';
import { backoffDelay } from '../../schemas/backoff.ts';
import { ManualClock, flush } from './fixtures.ts';

/** A controller that records when it ran each key and answers what `answer` says for that run. */
function recorder(clock: ManualClock, answer: (key: string, run: number) => ReconcileResult | void | Error = () => undefined) {
  const runs: [string, number][] = [];
  const controller: Controller = {
    name: 'test',
    async reconcile(key) {
      const run = runs.filter(([k]) => k === key).length;
      runs.push([key, clock.now()]);
      const result = answer(key, run);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return { controller, runs, times: (key = 'a') => runs.filter(([k]) => k === key).map(([, at]) => at) };
}

/** Moves the clock one millisecond at a time, letting the loop react between steps. */
async function tick(clock: ManualClock, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    clock.advance(1);
    await flush();
  }
}

/** Key 'a' added at 0 to a loop over recorder(answer), its first run answered. */
async function addedAtZero(answer: Parameters<typeof recorder>[1], options: Omit<WorkQueueOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const { controller, times } = recorder(clock, answer);
  const queue = controllerQueue(controller, { clock, ...options });
  queue.add('a');
  await flush();
  return { clock, times, queue };
}

const onceAfter40 = (_key: string, run: number) => (run === 0 ? { requeueAfterMs: 40 } : undefined);

describe('controller loop: requeueAfterMs', () => {
  const rows: { name: string; answers: (ReconcileResult | void)[]; want: number[] }[] = [
    { name: 'nothing asked: one run', answers: [undefined], want: [0] },
    { name: 'empty result: one run', answers: [{}], want: [0] },
    { name: 'again after 50: runs at 0 and 50', answers: [{ requeueAfterMs: 50 }], want: [0, 50] },
    { name: 'each run asks again: 0, 30, 60, 90', answers: [{ requeueAfterMs: 30 }, { requeueAfterMs: 30 }, { requeueAfterMs: 30 }], want: [0, 30, 60, 90] },
    { name: 'zero: runs again at once', answers: [{ requeueAfterMs: 0 }], want: [0, 0] },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const { clock, times, queue } = await addedAtZero((_key, run) => row.answers[run]);
      await tick(clock, 100);
      assert.deepEqual(times(), row.want);
      await queue.idle();
      assert.equal(clock.pending, 0);
    });
  }

  test('not one millisecond early', async () => {
    const { clock, times } = await addedAtZero(onceAfter40);
    await tick(clock, 39);
    assert.deepEqual(times(), [0]);
    await tick(clock, 1);
    assert.deepEqual(times(), [0, 40]);
  });

  test('a change in between runs the key then, and the requeue still comes', async () => {
    const { clock, times, queue } = await addedAtZero(onceAfter40);
    await tick(clock, 10);
    queue.add('a');
    await tick(clock, 50);
    assert.deepEqual(times(), [0, 10, 40]);
  });
});

describe('controller loop: errors', () => {
  test('back off per key with backoffDelay, and report `<controller> <key>`', async () => {
    const clock = new ManualClock();
    const policy = { initialMs: 10, maxMs: 40 };
    const { controller, times } = recorder(clock, (key, run) => (key === 'a' && run < 4 ? new Error(`attempt ${run}`) : undefined));
    const errors: string[] = [];
    const queue = controllerQueue(controller, { clock, backoff: policy, concurrency: 2, onError: (where) => errors.push(where) });
    queue.add('a');
    queue.add('b');
    await flush();
    await tick(clock, 200);
    let at = 0;
    const want = [0];
    for (let attempt = 0; attempt < 4; attempt++) want.push((at += backoffDelay(attempt, policy)));
    assert.deepEqual(times('a'), want);
    assert.deepEqual(want, [0, 10, 30, 70, 110]);
    assert.deepEqual(times('b'), [0], 'another key is not held back');
    assert.deepEqual(errors, ['test a', 'test a', 'test a', 'test a']);
  });

  test('an error instead of a requeue: the back-off decides when', async () => {
    const { clock, times } = await addedAtZero((_key, run) => (run === 0 ? { requeueAfterMs: 20 } : run === 1 ? new Error('once') : undefined), { backoff: { initialMs: 5, maxMs: 100 } });
    await tick(clock, 100);
    assert.deepEqual(times(), [0, 20, 25]);
  });
});

describe('controller loop: dedupe and stop', () => {
  test('a key added many times while waiting runs once', async () => {
    const clock = new ManualClock();
    const { controller, runs } = recorder(clock);
    const queue = controllerQueue(controller, { clock, concurrency: 1 });
    queue.add('busy');
    for (let i = 0; i < 5; i++) for (const key of ['a', 'b']) queue.add(key);
    await queue.idle();
    assert.deepEqual(runs.map(([key]) => key), ['busy', 'a', 'b']);
  });

  test('stop() drops requeues; start() takes adds again, without the old requeue', async () => {
    const clock = new ManualClock();
    const { controller, times } = recorder(clock, () => ({ requeueAfterMs: 30 }));
    const queue = controllerQueue(controller, { clock });
    queue.add('a');
    await flush();
    assert.equal(clock.pending, 1, 'the requeue waits on the clock');
    queue.stop();
    assert.equal(clock.pending, 0);
    queue.add('a');
    await tick(clock, 50);
    assert.deepEqual(times(), [0]);
    queue.start();
    queue.add('a');
    await flush();
    await tick(clock, 30);
    assert.deepEqual(times(), [0, 50, 80]);
    queue.stop();
    assert.equal(clock.pending, 0);
  });
});
