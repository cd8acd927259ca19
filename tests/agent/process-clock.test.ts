// The process runtime on a manual clock: real processes, but back-offs and health check intervals
// pass only when the test advances time, so the timings are exact and nothing sleeps for them
// (the tests wait only for the processes themselves).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ObservedInstance } from '../../agent/runtime/types.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { cleanupRoot, killLeftovers, openRuntime, spec, tempDataDir, waitFor, waitGone } from './process-helpers.ts';

after(cleanupRoot);

test('a crashing process waits out its back-off in clock time: 10 s, then 20 s', async (t) => {
  const clock = new ManualClock();
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), clock, backoff: {} });
  const s = spec({ command: ['sh', '-c', 'exit 1'] });
  await runtime.deploy(s);
  for (const [restarts, delay] of [[0, 10_000], [1, 20_000]] as const) {
    const message = `back-off ${delay / 1000}s restarting failed process (exit code 1)`;
    // (Until the next run has started, the instance still shows the previous back-off.)
    await waitFor(() => runtime.list().find((i) => i.restarts === restarts && i.message === message), `crash ${restarts + 1}: ${message}`);
    clock.advance(delay - 1);
    assert.equal(runtime.list()[0]?.restarts, restarts, 'not restarted before its back-off is over');
    clock.advance(1);
    assert.equal(runtime.list()[0]?.restarts, restarts + 1);
  }
});

test('a failing health check kills the process on the probe that reaches the threshold', async (t) => {
  const clock = new ManualClock();
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), clock, backoff: {}, healthIntervalScale: 1 });
  const seen: ObservedInstance[] = [];
  runtime.onChange((instance) => seen.push(instance));
  const s = spec({ command: ['sleep', '300'], healthCheck: { exec: { command: ['sh', '-c', 'exit 1'] }, intervalSeconds: 10, failureThreshold: 2 } });
  await runtime.deploy(s);
  const pid = runtime.pidOf(s.uid)!;
  // The first probe after 1 s, the next one interval (10 s) after it answered.
  clock.advance(1_000);
  await waitFor(() => runtime.list()[0]?.message === 'health check failing (1/2): exec sh exited with code 1', 'the first failure');
  clock.advance(9_999);
  assert.equal(runtime.pidOf(s.uid), pid, 'alive until the second probe');
  clock.advance(1);
  const failed = await waitFor(() => runtime.list().find((i) => i.state === 'Failed'), 'the kill');
  await waitGone(pid);
  assert.match(failed.message ?? '', /^back-off 10s restarting failed process \(killed by SIGTERM, exit code 143, killed because unhealthy: health check failed 2 times: exec sh exited with code 1\)$/);
  assert.ok(seen.some((i) => i.message === 'health check failed 2 times: exec sh exited with code 1; restarting'));
  await runtime.stop(s.uid);
});

test('no test process is left running', () => {
  assert.deepEqual(killLeftovers(), []);
});
