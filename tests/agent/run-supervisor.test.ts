// RunSupervisor on a manual clock over a driver fixture: the supervision that the process tests
// show with real processes and real sleeps (restart back-offs, health checks that end a run,
// stop and close), here step by step in virtual time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProbeContext, ProbeResult } from '../../agent/runtime/health-check.ts';
import { RunSupervisor, type LaunchResult, type RunDriver, type RunExit } from '../../agent/runtime/run-supervisor.ts';
import type { Run } from '../../agent/runtime/run-transitions.ts';
import type { ObservedInstance } from '../../agent/runtime/types.ts';
import type { WorkloadSpec } from '../../schemas/types.gen.ts';
import { ManualClock } from '../support/manual-clock.ts';

/** One run of the fixture: ends when the test (or terminate) says so. */
class FakeRun {
  readonly exit: Promise<RunExit>;
  end: (exit: RunExit) => void = () => {};

  constructor() {
    this.exit = new Promise((resolve) => {
      this.end = resolve;
    });
  }
}

class FakeDriver implements RunDriver<FakeRun> {
  readonly rules = { what: 'process', unhealthyEnd: 'killed', countsEveryAttempt: true };
  readonly runs: FakeRun[] = [];
  readonly terminated: FakeRun[] = [];
  readonly released: FakeRun[] = [];
  readonly persisted: Run[] = [];
  removed = false;
  /** What the next launch does; a run by default. */
  failLaunch: string | undefined;
  /** What the health check's exec probe answers. */
  probe: ProbeResult = { ok: true };

  constructor(private readonly clock: ManualClock) {}

  async launch(): Promise<LaunchResult<FakeRun>> {
    if (this.failLaunch) return { ok: false, reason: this.failLaunch, retry: true };
    const run = new FakeRun();
    this.runs.push(run);
    return { ok: true, handle: run, startedAtMs: this.clock.now() };
  }

  exited(run: FakeRun): Promise<RunExit> {
    return run.exit;
  }

  async terminate(run: FakeRun): Promise<void> {
    this.terminated.push(run);
    run.end({ code: 143, how: 'killed by SIGTERM, exit code 143' });
  }

  probeContext(): Omit<ProbeContext, 'timeoutMs'> {
    return { ports: [], env: {}, cwd: '/', exec: async () => this.probe };
  }

  persist(run: Run): void {
    this.persisted.push(run);
  }

  release(run: FakeRun): void {
    this.released.push(run);
  }

  async remove(run: FakeRun | undefined): Promise<void> {
    if (run) await this.terminate(run);
    this.removed = true;
  }

  hostPorts(): Record<string, number> {
    return {};
  }

  conditions(): [] {
    return [];
  }
}

/** Lets promise callbacks (the driver's answers, the supervisor's reactions) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup(template: Partial<WorkloadSpec> = {}) {
  const clock = new ManualClock();
  const driver = new FakeDriver(clock);
  const seen: ObservedInstance[] = [];
  const supervisor: RunSupervisor<FakeRun> = new RunSupervisor({
    spec: { uid: 'u1', name: 'web-1', namespace: 'team-a', workload: 'web', templateHash: 'h1', template: { command: ['x'], ...template }, env: {} },
    driver,
    clock,
    backoff: { initialMs: 300, maxMs: 5_000 },
    advertiseAddress: '127.0.0.1',
    healthTimeoutMs: 1_000,
    msPerSecond: 100,
    onChange: () => seen.push(supervisor.snapshot()),
  });
  return { clock, driver, supervisor, seen };
}

test('a crashing run is restarted after 300, 600, 1200 ms, and not a moment before', async () => {
  const { clock, driver, supervisor } = setup();
  await supervisor.start();
  const delays = [300, 600, 1_200];
  for (const [i, delay] of delays.entries()) {
    driver.runs[i]!.end({ code: 1, how: 'exit code 1' });
    await settle();
    const waiting = supervisor.snapshot();
    assert.equal(waiting.state, 'Failed');
    assert.equal(waiting.exitCode, 1);
    assert.equal(waiting.message, `back-off ${delay / 1000}s restarting failed process (exit code 1)`);
    clock.advance(delay - 1);
    await settle();
    assert.equal(driver.runs.length, i + 1, `run ${i + 2} waits out its back-off`);
    clock.advance(1);
    await settle();
    assert.equal(driver.runs.length, i + 2, `run ${i + 2} starts after ${delay} ms`);
    assert.equal(supervisor.snapshot().state, 'Running');
    assert.equal(supervisor.restarts, i + 1);
  }
});

test('a run that lasted long enough resets the back-off', async () => {
  const { clock, driver, supervisor } = setup();
  await supervisor.start();
  driver.runs[0]!.end({ code: 1, how: 'exit code 1' });
  await settle();
  clock.advance(300);
  await settle();
  clock.advance(10_000);
  driver.runs[1]!.end({ code: 1, how: 'exit code 1' });
  await settle();
  assert.equal(supervisor.snapshot().message, 'back-off 0.3s restarting failed process (exit code 1)');
});

test('a start failure is retried after the back-off', async () => {
  const { clock, driver, supervisor } = setup();
  driver.failLaunch = 'command not found: x';
  await supervisor.start();
  assert.equal(supervisor.snapshot().message, 'command not found: x (back-off 0.3s before retrying)');
  driver.failLaunch = undefined;
  clock.advance(300);
  await settle();
  assert.equal(supervisor.snapshot().state, 'Running');
  assert.equal(supervisor.restarts, 1);
});

test('a failing health check ends the run after failureThreshold probes, which then counts as a failure', async () => {
  const { clock, driver, supervisor, seen } = setup({ healthCheck: { exec: { command: ['check'] }, intervalSeconds: 1, failureThreshold: 2 } });
  driver.probe = { ok: false, reason: 'exec check exited with code 1' };
  await supervisor.start();
  assert.equal(supervisor.snapshot().state, 'Starting');
  clock.advance(100);
  await settle();
  assert.equal(supervisor.snapshot().message, 'health check failing (1/2): exec check exited with code 1');
  assert.deepEqual(driver.terminated, []);
  clock.advance(100);
  await settle();
  assert.deepEqual(driver.terminated, [driver.runs[0]]);
  const unhealthy = seen.find((i) => i.health === 'Unhealthy');
  assert.equal(unhealthy?.message, 'health check failed 2 times: exec check exited with code 1; restarting');
  assert.equal(supervisor.snapshot().message, 'back-off 0.3s restarting failed process (killed by SIGTERM, exit code 143, killed because unhealthy: health check failed 2 times: exec check exited with code 1)');
  assert.ok(!seen.some((i) => i.state === 'Running'), 'never Running while the check fails');
  // The ended run is probed no more: only the restart is pending.
  assert.equal(clock.pending, 1);
  driver.probe = { ok: true };
  clock.advance(300);
  await settle();
  clock.advance(100);
  await settle();
  assert.equal(supervisor.snapshot().state, 'Running');
  assert.equal(supervisor.snapshot().health, 'Healthy');
});

test('under Never an unhealthy run is left running', async () => {
  const { clock, driver, supervisor } = setup({ restartPolicy: 'Never', healthCheck: { exec: { command: ['check'] }, intervalSeconds: 1, failureThreshold: 2 } });
  await supervisor.start();
  clock.advance(100);
  await settle();
  assert.equal(supervisor.snapshot().state, 'Running');
  driver.probe = { ok: false, reason: 'sick' };
  // A probe is scheduled when the one before it has answered: one interval at a time.
  for (let probe = 0; probe < 2; probe++) {
    clock.advance(100);
    await settle();
  }
  assert.equal(supervisor.snapshot().health, 'Unhealthy');
  assert.equal(supervisor.snapshot().state, 'Running');
  assert.deepEqual(driver.terminated, []);
});

test('stop cancels a pending restart and removes the run; close leaves it running, released', async () => {
  const stopped = setup();
  await stopped.supervisor.start();
  stopped.driver.runs[0]!.end({ code: 1, how: 'exit code 1' });
  await settle();
  assert.equal(stopped.clock.pending, 1);
  await stopped.supervisor.stop();
  assert.equal(stopped.clock.pending, 0);
  assert.ok(stopped.driver.removed);
  stopped.clock.advance(10_000);
  await settle();
  assert.equal(stopped.driver.runs.length, 1);

  const closed = setup({ healthCheck: { exec: { command: ['check'] }, intervalSeconds: 1 } });
  await closed.supervisor.start();
  const persisted = closed.driver.persisted.length;
  closed.supervisor.close();
  assert.deepEqual(closed.driver.released, [closed.driver.runs[0]]);
  assert.deepEqual(closed.driver.terminated, []);
  assert.equal(closed.clock.pending, 0, 'no more probes');
  closed.driver.runs[0]!.end({ code: 1, how: 'exit code 1' });
  await settle();
  assert.equal(closed.driver.persisted.length, persisted, 'what happens after close is the next agent\'s to see');
});

test('adoption: a run still running is watched as recorded, one that ended gets the restart policy', async () => {
  const running = setup();
  const handle = new FakeRun();
  await running.supervisor.adopt({ run: { restarts: 4, state: 'Running', health: 'Healthy', startedAtMs: 0 }, running: { handle, state: 'Running', health: 'Healthy' } });
  assert.equal(running.supervisor.snapshot().restarts, 4);
  assert.equal(running.supervisor.current, handle);
  assert.equal(running.driver.runs.length, 0);

  const ended = setup();
  await ended.supervisor.adopt({ run: { restarts: 4, startedAtMs: 0, launched: true }, ended: { code: undefined, how: 'exit code unknown, while the agent was not running' } });
  assert.equal(ended.supervisor.snapshot().message, 'back-off 0.3s restarting failed process (exit code unknown, while the agent was not running)');
  ended.clock.advance(300);
  await settle();
  assert.equal(ended.supervisor.restarts, 5);
  assert.equal(ended.driver.runs.length, 1);
});
