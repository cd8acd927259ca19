// WorkQueue on a manual clock: dedupe, one run per key at a time, concurrency across keys,
// per-key exponential backoff, addAfter, stop() and idle(). Nothing here sleeps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkQueue } from '../../reconciler/work-queue.ts';
import type { WorkQueueOptions } from '../../reconciler/work-queue.ts';
import { ManualClock, deferred, flush } from './fixtures.ts';

interface Call {
  key: string;
  at: number;
  succeed: () => void;
  fail: (error?: unknown) => void;
}

/** A handler whose calls block until the test settles them; it tracks overlap per key and overall. */
class Calls {
  readonly list: Call[] = [];
  private readonly runningPerKey = new Map<string, number>();
  active = 0;
  maxActive = 0;
  maxPerKey = 0;

  constructor(private readonly clock: ManualClock) {}

  readonly handler = (key: string): Promise<void> => {
    const done = deferred();
    this.list.push({ key, at: this.clock.now(), succeed: () => done.resolve(), fail: (error = new Error(`${key} failed`)) => done.reject(error) });
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    const perKey = (this.runningPerKey.get(key) ?? 0) + 1;
    this.runningPerKey.set(key, perKey);
    this.maxPerKey = Math.max(this.maxPerKey, perKey);
    return done.promise.finally(() => {
      this.active -= 1;
      this.runningPerKey.set(key, (this.runningPerKey.get(key) ?? 1) - 1);
    });
  };

  get keys(): string[] {
    return this.list.map((c) => c.key);
  }

  /** Settles call i (0-based) and lets the queue react. */
  async succeed(i: number): Promise<void> {
    this.list[i]!.succeed();
    await flush();
  }

  async fail(i: number): Promise<void> {
    this.list[i]!.fail();
    await flush();
  }
}

function setup(options: Omit<WorkQueueOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const calls = new Calls(clock);
  const queue = new WorkQueue(calls.handler, { clock, ...options });
  return { clock, calls, queue };
}

/** A handler that records when it ran and fails its first `failures` calls per key. */
function flaky(clock: ManualClock, failures: number | ((key: string, attempt: number) => boolean)) {
  const runs: [string, number][] = [];
  const attempts = new Map<string, number>();
  const handler = async (key: string) => {
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    runs.push([key, clock.now()]);
    const fails = typeof failures === 'number' ? attempt <= failures : failures(key, attempt);
    if (fails) throw new Error(`${key} attempt ${attempt}`);
  };
  return { runs, handler, times: (key = 'a') => runs.filter(([k]) => k === key).map(([, t]) => t) };
}

/** Moves the clock one millisecond at a time, letting the queue react between steps. */
async function tick(clock: ManualClock, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    clock.advance(1);
    await flush();
  }
}

/** Whether a promise has settled, without waiting for it. */
function watch(promise: Promise<unknown>): () => boolean {
  let settled = false;
  void promise.then(() => (settled = true));
  return () => settled;
}

describe('WorkQueue: dedupe', () => {
  test('the same key added 5× while queued runs once', async () => {
    const { calls, queue } = setup({ concurrency: 1 });
    queue.add('busy');
    for (let i = 0; i < 5; i++) queue.add('a');
    assert.equal(queue.length, 1);
    assert.deepEqual(calls.keys, ['busy']);
    await calls.succeed(0);
    assert.deepEqual(calls.keys, ['busy', 'a']);
    await calls.succeed(1);
    await queue.idle();
    assert.deepEqual(calls.keys, ['busy', 'a']);
  });

  test('keys run in the order first added', async () => {
    const { calls, queue } = setup({ concurrency: 1 });
    for (const key of ['busy', 'c', 'a', 'c', 'b', 'a']) queue.add(key);
    for (let i = 0; i < 4; i++) await calls.succeed(i);
    await queue.idle();
    assert.deepEqual(calls.keys, ['busy', 'c', 'a', 'b']);
  });

  test('added 5× while running: runs exactly once more, after the first run', async () => {
    const { calls, queue } = setup({ concurrency: 4 });
    queue.add('a');
    for (let i = 0; i < 5; i++) queue.add('a');
    await flush();
    assert.deepEqual(calls.keys, ['a'], 'not run again while running');
    assert.equal(queue.length, 0);
    await calls.succeed(0);
    assert.deepEqual(calls.keys, ['a', 'a']);
    await calls.succeed(1);
    await queue.idle();
    assert.deepEqual(calls.keys, ['a', 'a']);
    assert.equal(calls.maxPerKey, 1, 'never the same key twice at once');
  });

  test('added while running and again while rerunning: three runs, never overlapping', async () => {
    const { calls, queue } = setup({ concurrency: 4 });
    queue.add('a');
    queue.add('a');
    await calls.succeed(0);
    queue.add('a');
    await calls.succeed(1);
    await calls.succeed(2);
    await queue.idle();
    assert.deepEqual(calls.keys, ['a', 'a', 'a']);
    assert.equal(calls.maxPerKey, 1);
  });
});

describe('WorkQueue: concurrency across keys', () => {
  const rows: { name: string; concurrency: number | undefined; wantRunning: number }[] = [
    { name: 'default: one at a time', concurrency: undefined, wantRunning: 1 },
    { name: 'concurrency 1', concurrency: 1, wantRunning: 1 },
    { name: 'concurrency 2', concurrency: 2, wantRunning: 2 },
    { name: 'concurrency 3', concurrency: 3, wantRunning: 3 },
    { name: 'concurrency 10, five keys: all at once', concurrency: 10, wantRunning: 5 },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const { calls, queue } = setup(row.concurrency === undefined ? {} : { concurrency: row.concurrency });
      for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
      await flush();
      assert.equal(calls.active, row.wantRunning);
      assert.equal(queue.length, 5 - row.wantRunning);
      // One finishing lets exactly one more in.
      await calls.succeed(0);
      assert.equal(calls.active, Math.min(row.wantRunning, 4));
      assert.equal(calls.list.length, Math.min(row.wantRunning + 1, 5));
      for (let i = 1; i < 5; i++) await calls.succeed(i);
      await queue.idle();
      assert.deepEqual(calls.keys, ['a', 'b', 'c', 'd', 'e']);
      assert.equal(calls.maxActive, row.wantRunning);
    });
  }

  test('a key re-added while running does not take a second slot', async () => {
    const { calls, queue } = setup({ concurrency: 2 });
    queue.add('a');
    queue.add('a');
    queue.add('b');
    assert.deepEqual(calls.keys, ['a', 'b']);
    await calls.succeed(0);
    assert.deepEqual(calls.keys, ['a', 'b', 'a']);
    await calls.succeed(1);
    await calls.succeed(2);
    await queue.idle();
    assert.equal(calls.maxPerKey, 1);
  });
});

describe('WorkQueue: retries with backoff', () => {
  interface BackoffRow {
    name: string;
    options: Omit<WorkQueueOptions, 'clock'>;
    failures: number;
    /** When each attempt ran, the first at 0. */
    want: number[];
    run: number;
  }
  const rows: BackoffRow[] = [
    { name: 'base 5: retried after 5, then 10, then 20 ms', options: { backoff: { initialMs: 5, maxMs: 30_000 } }, failures: 3, want: [0, 5, 15, 35], run: 100 },
    { name: 'base defaults to 5 ms', options: {}, failures: 3, want: [0, 5, 15, 35], run: 100 },
    { name: 'base 5, max 15: 5, 10, then capped at 15', options: { backoff: { initialMs: 5, maxMs: 15 } }, failures: 5, want: [0, 5, 15, 30, 45, 60], run: 100 },
    { name: 'base 5, max 5: always 5', options: { backoff: { initialMs: 5, maxMs: 5 } }, failures: 3, want: [0, 5, 10, 15], run: 100 },
    { name: 'base 100, max 250', options: { backoff: { initialMs: 100, maxMs: 250 } }, failures: 3, want: [0, 100, 300, 550], run: 600 },
    { name: 'no failure: one run', options: { backoff: { initialMs: 5, maxMs: 30_000 } }, failures: 0, want: [0], run: 100 },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const clock = new ManualClock();
      const { handler, times } = flaky(clock, row.failures);
      const queue = new WorkQueue(handler, { clock, ...row.options });
      queue.add('a');
      await flush();
      await tick(clock, row.run);
      assert.deepEqual(times(), row.want);
      await queue.idle();
      assert.equal(clock.pending, 0);
    });
  }

  test('not retried one millisecond early', async () => {
    const clock = new ManualClock();
    const { handler, times } = flaky(clock, 1);
    const queue = new WorkQueue(handler, { clock, backoff: { initialMs: 5, maxMs: 30_000 } });
    queue.add('a');
    await flush();
    await tick(clock, 4);
    assert.deepEqual(times(), [0]);
    await tick(clock, 1);
    assert.deepEqual(times(), [0, 5]);
    await queue.idle();
  });

  test('success resets the backoff', async () => {
    const clock = new ManualClock();
    // Attempts 1, 2 fail; 3 succeeds; 4 fails; 5 succeeds.
    const { handler, times } = flaky(clock, (_key, attempt) => attempt !== 3 && attempt !== 5);
    const queue = new WorkQueue(handler, { clock, backoff: { initialMs: 5, maxMs: 30_000 } });
    queue.add('a');
    await flush();
    await tick(clock, 50);
    assert.deepEqual(times(), [0, 5, 15]);
    queue.add('a');
    await flush();
    await tick(clock, 50);
    // Added again at 50, failed, retried 5 ms later, not 20.
    assert.deepEqual(times(), [0, 5, 15, 50, 55]);
    await queue.idle();
  });

  test('backoff is per key', async () => {
    const clock = new ManualClock();
    const { handler, times } = flaky(clock, (key, attempt) => (key === 'a' ? attempt <= 3 : attempt <= 1));
    const queue = new WorkQueue(handler, { clock, backoff: { initialMs: 5, maxMs: 30_000 }, concurrency: 2 });
    queue.add('a');
    await flush();
    await tick(clock, 15);
    queue.add('b');
    await flush();
    await tick(clock, 50);
    assert.deepEqual(times('a'), [0, 5, 15, 35]);
    assert.deepEqual(times('b'), [15, 20]);
    await queue.idle();
  });

  test('onError gets the key and the error', async () => {
    const clock = new ManualClock();
    const errors: [string, unknown][] = [];
    const boom = new Error('boom');
    const queue = new WorkQueue(
      async (key) => {
        if (clock.now() === 0) throw boom;
        void key;
      },
      { clock, backoff: { initialMs: 5, maxMs: 30_000 }, onError: (key, error) => errors.push([key, error]) },
    );
    queue.add('a');
    await flush();
    assert.deepEqual(errors, [['a', boom]]);
    await tick(clock, 5);
    await queue.idle();
    assert.equal(errors.length, 1);
  });

  test('a failure while re-added waits for the backoff instead of running right away', async () => {
    const { clock, calls, queue } = setup({ backoff: { initialMs: 5, maxMs: 30_000 } });
    queue.add('a');
    queue.add('a');
    await calls.fail(0);
    assert.deepEqual(calls.keys, ['a']);
    await tick(clock, 5);
    assert.deepEqual(calls.list.map((c) => [c.key, c.at]), [
      ['a', 0],
      ['a', 5],
    ]);
    await calls.succeed(1);
    await queue.idle();
  });
});

describe('WorkQueue: addAfter', () => {
  const rows: { name: string; ms: number; want: number[] }[] = [
    { name: '50 ms: runs at 50', ms: 50, want: [50] },
    { name: '1 ms: runs at 1', ms: 1, want: [1] },
    { name: '0 ms: runs now', ms: 0, want: [0] },
    { name: 'negative: runs now', ms: -10, want: [0] },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const clock = new ManualClock();
      const { handler, times } = flaky(clock, 0);
      const queue = new WorkQueue(handler, { clock });
      queue.addAfter('a', row.ms);
      await flush();
      await tick(clock, 100);
      assert.deepEqual(times(), row.want);
      await queue.idle();
    });
  }

  test('not run before its time', async () => {
    const clock = new ManualClock();
    const { handler, times } = flaky(clock, 0);
    const queue = new WorkQueue(handler, { clock });
    queue.addAfter('a', 50);
    await tick(clock, 49);
    assert.deepEqual(times(), []);
    assert.equal(queue.length, 0);
    await tick(clock, 1);
    assert.deepEqual(times(), [50]);
  });

  test('a later time for a key already waiting is ignored', async () => {
    const clock = new ManualClock();
    const { handler, times } = flaky(clock, 0);
    const queue = new WorkQueue(handler, { clock });
    queue.addAfter('a', 50);
    queue.addAfter('a', 80);
    await tick(clock, 100);
    assert.deepEqual(times(), [50]);
  });

  test('a sooner time for a key already waiting wins', async () => {
    const clock = new ManualClock();
    const { handler, times } = flaky(clock, 0);
    const queue = new WorkQueue(handler, { clock });
    queue.addAfter('a', 50);
    queue.addAfter('a', 10);
    await tick(clock, 100);
    assert.deepEqual(times(), [10]);
  });

  test('different keys wait independently', async () => {
    const clock = new ManualClock();
    const { handler, runs } = flaky(clock, 0);
    const queue = new WorkQueue(handler, { clock });
    queue.addAfter('b', 20);
    queue.addAfter('a', 10);
    await tick(clock, 30);
    assert.deepEqual(runs, [
      ['a', 10],
      ['b', 20],
    ]);
  });

  test('a delayed add of a key already queued runs it once', async () => {
    const { clock, calls, queue } = setup({ concurrency: 1 });
    queue.add('busy');
    queue.add('a');
    queue.addAfter('a', 5);
    await tick(clock, 5);
    assert.equal(queue.length, 1);
    await calls.succeed(0);
    await calls.succeed(1);
    await queue.idle();
    assert.deepEqual(calls.keys, ['busy', 'a']);
  });
});

describe('WorkQueue: stop()', () => {
  test('drops queued keys, delayed keys and retries; later adds do nothing', async () => {
    const { clock, calls, queue } = setup({ concurrency: 1, backoff: { initialMs: 5, maxMs: 30_000 } });
    queue.add('running');
    queue.add('queued');
    queue.addAfter('delayed', 10);
    assert.equal(queue.length, 1);
    queue.stop();
    assert.equal(queue.length, 0);
    assert.equal(clock.pending, 0, 'delay timers cleared');
    // The run in progress finishes (here by failing): no retry is scheduled.
    await calls.fail(0);
    queue.add('later');
    queue.addAfter('later', 1);
    await tick(clock, 50);
    assert.deepEqual(calls.keys, ['running']);
    assert.equal(clock.pending, 0);
  });

  test('a key re-added while running is not rerun after stop()', async () => {
    const { clock, calls, queue } = setup();
    queue.add('a');
    queue.add('a');
    queue.stop();
    await calls.succeed(0);
    await tick(clock, 10);
    assert.deepEqual(calls.keys, ['a']);
  });
});

describe('WorkQueue: idle()', () => {
  test('resolves at once when nothing was added', async () => {
    const { queue } = setup();
    const settled = watch(queue.idle());
    await flush();
    assert.equal(settled(), true);
  });

  test('resolves only when every key, including reruns, is done', async () => {
    const { calls, queue } = setup({ concurrency: 2 });
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.add('a');
    const settled = watch(queue.idle());
    await calls.succeed(0); // a done, c starts, a rerun queued
    assert.equal(settled(), false);
    await calls.succeed(1); // b done, a reruns
    await calls.succeed(2); // c done
    assert.equal(settled(), false);
    await calls.succeed(3); // a's rerun done
    assert.equal(settled(), true);
    assert.deepEqual(calls.keys, ['a', 'b', 'c', 'a']);
  });

  test('waits through a retry backoff', async () => {
    const clock = new ManualClock();
    const { handler, times } = flaky(clock, 2);
    const queue = new WorkQueue(handler, { clock, backoff: { initialMs: 5, maxMs: 30_000 } });
    queue.add('a');
    await flush();
    const settled = watch(queue.idle());
    await tick(clock, 14);
    assert.equal(settled(), false, 'a retry is still waiting');
    await tick(clock, 1);
    assert.equal(settled(), true);
    assert.deepEqual(times(), [0, 5, 15]);
  });

  test('waits for a delayed add', async () => {
    const clock = new ManualClock();
    const { handler } = flaky(clock, 0);
    const queue = new WorkQueue(handler, { clock });
    queue.addAfter('a', 10);
    const settled = watch(queue.idle());
    await tick(clock, 9);
    assert.equal(settled(), false);
    await tick(clock, 1);
    assert.equal(settled(), true);
  });

  test('resolves on stop() even with work pending', async () => {
    const { calls, queue } = setup();
    queue.add('a');
    queue.add('b');
    const settled = watch(queue.idle());
    await flush();
    assert.equal(settled(), false);
    queue.stop();
    await flush();
    assert.equal(settled(), true);
    assert.deepEqual(calls.keys, ['a']);
  });

  test('several waiters all resolve', async () => {
    const { calls, queue } = setup();
    queue.add('a');
    const first = watch(queue.idle());
    const second = watch(queue.idle());
    await calls.succeed(0);
    assert.deepEqual([first(), second()], [true, true]);
  });
});
