// Back-off: exponential to a ceiling, jittered down when asked; the agent's crash loop on top of it
// (10 s doubling to 5 min, back to 10 s after a run of at least 10 s).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrashLoopBackoff } from '../../agent/runtime/backoff.ts';
import { Backoff, backoffDelay } from '../../schemas/backoff.ts';

const CRASH_LOOP = { initialMs: 10_000, maxMs: 300_000 };

test('backoffDelay: 10s doubling, capped at 300s', () => {
  const table: [number, number][] = [
    [0, 10_000],
    [1, 20_000],
    [2, 40_000],
    [3, 80_000],
    [4, 160_000],
    [5, 300_000],
    [6, 300_000],
    [50, 300_000],
    [5000, 300_000],
  ];
  for (const [attempt, delay] of table) assert.equal(backoffDelay(attempt, CRASH_LOOP), delay, `attempt ${attempt}`);
  assert.equal(backoffDelay(2, { initialMs: 100, maxMs: 1_000 }), 400);
  assert.equal(backoffDelay(4, { initialMs: 100, maxMs: 1_000 }), 1_000);
  assert.equal(backoffDelay(0, { initialMs: 500, maxMs: 100 }), 500, 'max below initial: initial wins');
});

test('CrashLoopBackoff: short runs grow the delay, a long enough run resets it', () => {
  const backoff = new CrashLoopBackoff();
  const steps: [ranForMs: number, delay: number][] = [
    [100, 10_000],
    [100, 20_000],
    [9_999, 40_000],
    [0, 80_000],
    [0, 160_000],
    [0, 300_000],
    [0, 300_000],
    [10_000, 10_000], // ran 10 s: reset
    [50, 20_000],
    [60_000, 10_000],
  ];
  steps.forEach(([ranForMs, delay], i) => assert.equal(backoff.next(ranForMs), delay, `step ${i}: ran ${ranForMs} ms`));
  backoff.reset();
  assert.equal(backoff.next(0), 10_000);
});

test('CrashLoopBackoff with custom settings', () => {
  const backoff = new CrashLoopBackoff({ initialMs: 100, maxMs: 250, resetAfterMs: 1_000 });
  assert.deepEqual([0, 0, 0, 0].map((ran) => backoff.next(ran)), [100, 200, 250, 250]);
  assert.equal(backoff.next(999), 250);
  assert.equal(backoff.next(1_000), 100);
});

test('Backoff: doubles to the ceiling, resets on success, jitters down within its fraction', () => {
  const exact = new Backoff({ initialMs: 100, maxMs: 1_000 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => exact.next()), [100, 200, 400, 800, 1_000, 1_000]);
  exact.reset();
  assert.equal(exact.next(), 100);

  const draws = [0, 0.5, 1];
  const jittered = new Backoff({ initialMs: 1_000, maxMs: 1_000, jitter: 0.5 }, () => draws.shift()!);
  assert.deepEqual([jittered.next(), jittered.next(), jittered.next()], [1_000, 750, 500], 'from delay × (1 − jitter) to delay');
});
