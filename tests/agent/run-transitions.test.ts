// runTransition, table by table (like plan-workload.test.ts): a run, an event, and the run and
// effects that follow. Every row asserts the effects in order and the fields the event changes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crashLoopPolicy } from '../../agent/runtime/backoff.ts';
import { initialRun, runTransition, type Run, type RunEffect, type RunEvent, type RunRules } from '../../agent/runtime/run-transitions.ts';

const NOW = 1_000_000;

function rules(overrides: Partial<RunRules> = {}): RunRules {
  return { policy: 'Always', probed: false, what: 'process', unhealthyEnd: 'killed', countsEveryAttempt: true, backoff: crashLoopPolicy(), ...overrides };
}

/** A run that started 1 s before NOW and runs, Running and Healthy. */
function run(overrides: Partial<Run> = {}): Run {
  return { ...initialRun(), state: 'Running', health: 'Healthy', startedAtMs: NOW - 1_000, startedAt: new Date(NOW - 1_000).toISOString(), launched: true, ...overrides };
}

interface Case {
  name: string;
  rules?: Partial<RunRules>;
  run?: Partial<Run>;
  event: RunEvent;
  /** The fields of the run after the event that the row is about. */
  want: Partial<Run>;
  effects: RunEffect[];
}

const recorded: RunEffect[] = [{ type: 'persist' }, { type: 'emit' }];
const restartIn = (delayMs: number): RunEffect[] => [{ type: 'scheduleRestart', delayMs }, ...recorded];
/** An exit: probing stops first, then what the restart policy says. */
const exit = (code: number | undefined, how = `exit code ${code}`): RunEvent => ({ type: 'exited', code, how });
const probingStops = (...then: RunEffect[]): RunEffect[] => [{ type: 'stopProbing' }, ...then];

function check(cases: Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const { run: after, effects } = runTransition(rules(c.rules), run(c.run), c.event, NOW);
      assert.deepEqual(effects, c.effects);
      const changed = Object.fromEntries(Object.keys(c.want).map((key) => [key, after[key as keyof Run]]));
      assert.deepEqual(changed, c.want);
    });
  }
}

describe('starting', () => {
  check([
    {
      name: 'launched without a health check: Running and Healthy, recorded, watched; the last exit is forgotten',
      run: { state: 'Failed', health: 'Unknown', exitCode: 1, message: 'back-off', launched: false },
      event: { type: 'launched', startedAtMs: NOW },
      want: { state: 'Running', health: 'Healthy', exitCode: undefined, message: undefined, startedAtMs: NOW, startedAt: new Date(NOW).toISOString(), launched: true },
      effects: [...recorded, { type: 'watch' }],
    },
    {
      name: 'launched with a health check: Starting until it passes',
      rules: { probed: true },
      event: { type: 'launched', startedAtMs: NOW },
      want: { state: 'Starting', health: 'Unknown' },
      effects: [...recorded, { type: 'watch' }],
    },
    {
      name: 'preparing (an image pull): Starting, with its progress',
      run: { state: 'Failed' },
      event: { type: 'preparing', message: 'pulling busybox' },
      want: { state: 'Starting', message: 'pulling busybox' },
      effects: [{ type: 'emit' }],
    },
    {
      name: 'a start failure is retried after the back-off',
      run: { exitCode: 1 },
      event: { type: 'launchFailed', reason: 'command not found: x', retry: true },
      want: { state: 'Failed', health: 'Unknown', exitCode: undefined, message: 'command not found: x (back-off 10s before retrying)', crashes: 1, launched: false, finished: false },
      effects: restartIn(10_000),
    },
    {
      name: 'a start failure under Never is final',
      rules: { policy: 'Never' },
      event: { type: 'launchFailed', reason: 'command not found: x', retry: true },
      want: { state: 'Failed', message: 'command not found: x', finished: true },
      effects: recorded,
    },
    {
      name: 'a start that nothing would fix is final even under Always',
      event: { type: 'launchFailed', reason: 'the process runtime needs spec.command', retry: false },
      want: { state: 'Failed', message: 'the process runtime needs spec.command', finished: true },
      effects: recorded,
    },
    {
      name: 'adopted as recorded: state and health kept',
      rules: { probed: true },
      run: { state: 'Starting', health: 'Unknown', launched: false },
      event: { type: 'adopted', state: 'Running', health: 'Healthy' },
      want: { state: 'Running', health: 'Healthy', launched: true },
      effects: [...recorded, { type: 'watch' }],
    },
    {
      name: 'adopted without a record (a container): Starting until the health check passes',
      rules: { probed: true },
      run: { state: 'Failed', health: 'Healthy' },
      event: { type: 'adopted' },
      want: { state: 'Starting', health: 'Unknown' },
      effects: [...recorded, { type: 'watch' }],
    },
  ]);
});

describe('exits and the restart policy', () => {
  check([
    {
      name: 'Always, exit 1 after a short run: back-off 10s',
      event: exit(1),
      want: { state: 'Failed', health: 'Unknown', exitCode: 1, message: 'back-off 10s restarting failed process (exit code 1)', crashes: 1 },
      effects: probingStops(...restartIn(10_000)),
    },
    {
      name: 'the third crash in a row: 40s',
      run: { crashes: 2 },
      event: exit(1),
      want: { message: 'back-off 40s restarting failed process (exit code 1)', crashes: 3 },
      effects: probingStops(...restartIn(40_000)),
    },
    {
      name: 'a run of 10 s resets the back-off',
      run: { crashes: 5, startedAtMs: NOW - 10_000 },
      event: exit(1),
      want: { message: 'back-off 10s restarting failed process (exit code 1)', crashes: 1 },
      effects: probingStops(...restartIn(10_000)),
    },
    {
      name: 'the run length counts to when it ended, when that is known (an exit while no agent watched)',
      run: { crashes: 5, startedAtMs: NOW - 60_000 },
      event: { type: 'exited', code: 1, how: 'exit code 1, while the agent was not running', endedAtMs: NOW - 59_000 },
      want: { message: 'back-off 300s restarting failed process (exit code 1, while the agent was not running)', crashes: 5 },
      effects: probingStops(...restartIn(300_000)),
    },
    {
      name: 'the back-off stops at its ceiling',
      rules: { backoff: crashLoopPolicy({ initialMs: 100, maxMs: 250 }) },
      run: { crashes: 2 },
      event: exit(1),
      want: { message: 'back-off 0.3s restarting failed process (exit code 1)', crashes: 2 },
      effects: probingStops(...restartIn(250)),
    },
    { name: 'Always restarts an exit 0 too', event: exit(0), want: { state: 'Failed', exitCode: 0, message: 'back-off 10s restarting exited process (exit code 0)' }, effects: probingStops(...restartIn(10_000)) },
    { name: 'OnFailure, exit 0: Exited for good', rules: { policy: 'OnFailure' }, event: exit(0), want: { state: 'Exited', exitCode: 0, message: 'process exited (exit code 0)', finished: true }, effects: probingStops(...recorded) },
    { name: 'OnFailure, exit code unknown: a failure, restarted', rules: { policy: 'OnFailure', what: 'container' }, event: exit(undefined, 'exit code unknown, its container was removed'), want: { state: 'Failed', exitCode: undefined, message: 'back-off 10s restarting failed container (exit code unknown, its container was removed)' }, effects: probingStops(...restartIn(10_000)) },
    { name: 'Never, exit 3: Failed for good', rules: { policy: 'Never' }, event: exit(3), want: { state: 'Failed', exitCode: 3, message: 'process failed (exit code 3)', finished: true }, effects: probingStops(...recorded) },
    {
      name: 'ended by its health check: a failure whatever the code, said so',
      run: { health: 'Unhealthy', unhealthyReason: 'health check failed 2 times: exec sh exited with code 1' },
      event: exit(143, 'killed by SIGTERM, exit code 143'),
      want: {
        health: 'Unhealthy',
        unhealthyReason: undefined,
        message: 'back-off 10s restarting failed process (killed by SIGTERM, exit code 143, killed because unhealthy: health check failed 2 times: exec sh exited with code 1)',
      },
      effects: probingStops(...restartIn(10_000)),
    },
    {
      name: 'a container ended by its health check was stopped',
      rules: { what: 'container', unhealthyEnd: 'stopped' },
      run: { unhealthyReason: 'r' },
      event: exit(0),
      want: { message: 'back-off 10s restarting failed container (exit code 0, stopped because unhealthy: r)' },
      effects: probingStops(...restartIn(10_000)),
    },
  ]);
});

describe('health', () => {
  const starting: Partial<Run> = { state: 'Starting', health: 'Unknown' };
  const failing = (consecutive: number): RunEvent => ({ type: 'probeFailing', reason: 'refused', consecutive, threshold: 3 });
  check([
    {
      name: 'the check passes: Running and Healthy, the failing message goes',
      rules: { probed: true },
      run: { state: 'Starting', health: 'Unknown', message: 'health check failing (1/3): refused' },
      event: { type: 'healthy' },
      want: { state: 'Running', health: 'Healthy', message: undefined },
      effects: recorded,
    },
    {
      name: 'Unhealthy under Always: ended like a liveness probe would',
      rules: { probed: true },
      event: { type: 'unhealthy', reason: 'health check failed 3 times: refused' },
      want: { state: 'Running', health: 'Unhealthy', unhealthyReason: 'health check failed 3 times: refused', message: 'health check failed 3 times: refused; restarting' },
      effects: [{ type: 'stopProbing' }, { type: 'terminate' }, ...recorded],
    },
    {
      name: 'Unhealthy under Never: left running, reported',
      rules: { probed: true, policy: 'Never' },
      event: { type: 'unhealthy', reason: 'health check failed 3 times: refused' },
      want: { state: 'Running', health: 'Unhealthy', unhealthyReason: undefined, message: 'health check failed 3 times: refused' },
      effects: recorded,
    },
    { name: 'failing before it ever passed: counted in the message', rules: { probed: true }, run: starting, event: failing(1), want: { message: 'health check failing (1/3): refused' }, effects: [{ type: 'emit' }] },
    { name: 'failing past the threshold: the count stops at it', rules: { probed: true }, run: starting, event: failing(5), want: { message: 'health check failing (3/3): refused' }, effects: [{ type: 'emit' }] },
    {
      name: 'failing once Running: nothing until the verdict',
      rules: { probed: true },
      event: failing(1),
      want: { state: 'Running', message: undefined },
      effects: [],
    },
  ]);
});

describe('restarts', () => {
  check([
    {
      name: 'a process restart counts',
      run: { state: 'Failed', restarts: 2 },
      event: { type: 'restartDue' },
      want: { restarts: 3, launched: false },
      effects: [{ type: 'launch' }],
    },
    {
      name: 'a process that never started counts too',
      run: { state: 'Failed', restarts: 2, launched: false },
      event: { type: 'restartDue' },
      want: { restarts: 3 },
      effects: [{ type: 'launch' }],
    },
    {
      name: 'a container run that got a container counts (the next gets the next run number)',
      rules: { what: 'container', countsEveryAttempt: false },
      run: { state: 'Failed', restarts: 2 },
      event: { type: 'restartDue' },
      want: { restarts: 3 },
      effects: [{ type: 'launch' }],
    },
    {
      name: 'a pull that failed before any container does not',
      rules: { what: 'container', countsEveryAttempt: false },
      run: { state: 'Failed', restarts: 2, launched: false },
      event: { type: 'restartDue' },
      want: { restarts: 2 },
      effects: [{ type: 'launch' }],
    },
  ]);
});
