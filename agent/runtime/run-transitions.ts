// One instance's life as data, the same for a process and a container: every state change is
// runTransition(rules, run, event, now) → { run, effects }, pure, so the state machine is
// table-tested (tests/agent/run-transitions.test.ts) and RunSupervisor only performs the effects.
//
// States:
//   Starting  it runs; its health check has not passed yet (health Unknown, or Unhealthy with
//             restartPolicy Never). Also while a container's image is pulled.
//   Running   it runs and its health check passed (health Healthy; it stays Running when it turns
//             Unhealthy under restartPolicy Never). Without a health check, a live run is Running
//             and Healthy at once.
//   Failed    it could not start (command not found, image not pulled…), or it ended and is
//             restarted after a back-off (message "back-off 10s restarting failed process (exit
//             code 1)", like Kubernetes' CrashLoopBackOff), or it failed and the policy says not to
//             restart.
//   Exited    it ended with exit code 0 and the policy says not to restart.
// Unhealthy acts as a liveness probe: failureThreshold consecutive failures end the run, which
// then counts as failed and is restarted with back-off unless restartPolicy is Never.
import { crashLoopDelay, type BackoffOptions } from './backoff.ts';
import { formatDelay, type RestartPolicy } from './restart-policy.ts';
import type { InstanceState, ObservedInstance } from './types.ts';

type Health = ObservedInstance['health'];

/** What stays the same for an instance's whole life. */
export interface RunRules {
  policy: RestartPolicy;
  /** The spec has a health check: a new run is Starting until it passes. */
  probed: boolean;
  /** What one run is, in messages: "process", "container". */
  what: string;
  /** How the health check ended a run, in messages: "killed" (a process), "stopped" (a container). */
  unhealthyEnd: string;
  /**
   * Whether an attempt that got no process counts as a restart. The process runtime counts every
   * attempt; the docker runtime counts containers, because the run number names them.
   */
  countsEveryAttempt: boolean;
  backoff: Required<BackoffOptions>;
}

export interface Run {
  state: InstanceState;
  health: Health;
  restarts: number;
  exitCode: number | undefined;
  startedAt: string | undefined;
  /** When the current (or last) run started: a long enough run resets the back-off. */
  startedAtMs: number;
  message: string | undefined;
  /** Set once the health check ends the run: its exit then counts as a failure. */
  unhealthyReason: string | undefined;
  /** The restart policy decided not to run it again. */
  finished: boolean;
  /** Consecutive crashes, for the back-off. */
  crashes: number;
  /** The last attempt got a process (a container). */
  launched: boolean;
}

export type RunEvent =
  /** Progress before a run can start (an image pull). */
  | { type: 'preparing'; message: string }
  | { type: 'launched'; startedAtMs: number }
  /** retry false: nothing would change on a retry (the spec lacks what the runtime needs). */
  | { type: 'launchFailed'; reason: string; retry: boolean }
  /** A run an earlier agent started still runs; state and health as it recorded them, if it did. */
  | { type: 'adopted'; state?: InstanceState; health?: Health }
  | { type: 'probeFailing'; reason: string; consecutive: number; threshold: number }
  | { type: 'healthy' }
  | { type: 'unhealthy'; reason: string }
  /** how: "exit code 1", "killed by SIGKILL, exit code 137", with what the runtime knows besides. */
  | { type: 'exited'; code: number | undefined; how: string; endedAtMs?: number }
  | { type: 'restartDue' };

export type RunEffect =
  | { type: 'launch' }
  /** Watch the run for its exit, and start its health check. */
  | { type: 'watch' }
  | { type: 'stopProbing' }
  /** End the run (it is then handled as any exit). */
  | { type: 'terminate' }
  | { type: 'scheduleRestart'; delayMs: number }
  /** Record the run where a restarted agent finds it. */
  | { type: 'persist' }
  /** Tell listeners the observed instance changed. */
  | { type: 'emit' };

export interface Transition {
  run: Run;
  effects: RunEffect[];
}

export function initialRun(): Run {
  return {
    state: 'Starting',
    health: 'Unknown',
    restarts: 0,
    exitCode: undefined,
    startedAt: undefined,
    startedAtMs: 0,
    message: undefined,
    unhealthyReason: undefined,
    finished: false,
    crashes: 0,
    launched: false,
  };
}

const recorded: RunEffect[] = [{ type: 'persist' }, { type: 'emit' }];

function started(rules: RunRules): Pick<Run, 'state' | 'health'> {
  return rules.probed ? { state: 'Starting', health: 'Unknown' } : { state: 'Running', health: 'Healthy' };
}

function finish(run: Run, state: 'Exited' | 'Failed', message: string, effects: RunEffect[] = []): Transition {
  return { run: { ...run, finished: true, state, message }, effects: [...effects, ...recorded] };
}

function backOff(rules: RunRules, run: Run, ranForMs: number, message: (delay: string) => string, effects: RunEffect[] = []): Transition {
  const { delayMs, attempt } = crashLoopDelay(run.crashes, ranForMs, rules.backoff);
  return { run: { ...run, state: 'Failed', message: message(formatDelay(delayMs)), crashes: attempt }, effects: [...effects, { type: 'scheduleRestart', delayMs }, ...recorded] };
}

function exited(rules: RunRules, run: Run, event: Extract<RunEvent, { type: 'exited' }>, now: number): Transition {
  const unhealthy = run.unhealthyReason;
  const failed = unhealthy !== undefined || event.code !== 0;
  const how = `${event.how}${unhealthy ? `, ${rules.unhealthyEnd} because unhealthy: ${unhealthy}` : ''}`;
  const ended: Run = { ...run, exitCode: event.code, health: unhealthy ? 'Unhealthy' : 'Unknown', unhealthyReason: undefined };
  const stop: RunEffect[] = [{ type: 'stopProbing' }];
  const restart = rules.policy === 'Always' || (rules.policy === 'OnFailure' && failed);
  const outcome = failed ? 'failed' : 'exited';
  if (!restart) return finish(ended, failed ? 'Failed' : 'Exited', `${rules.what} ${outcome} (${how})`, stop);
  const ranForMs = (event.endedAtMs ?? now) - run.startedAtMs;
  return backOff(rules, ended, ranForMs, (delay) => `back-off ${delay} restarting ${outcome} ${rules.what} (${how})`, stop);
}

function unhealthy(rules: RunRules, run: Run, reason: string): Transition {
  // Under Never it keeps running, reported Unhealthy.
  if (rules.policy === 'Never') return { run: { ...run, health: 'Unhealthy', message: reason }, effects: recorded };
  // Like a liveness probe: end it; its exit then counts as a failure and is restarted.
  return {
    run: { ...run, health: 'Unhealthy', unhealthyReason: reason, message: `${reason}; restarting` },
    effects: [{ type: 'stopProbing' }, { type: 'terminate' }, ...recorded],
  };
}

export function runTransition(rules: RunRules, run: Run, event: RunEvent, now: number): Transition {
  switch (event.type) {
    case 'preparing':
      return { run: { ...run, state: 'Starting', message: event.message }, effects: [{ type: 'emit' }] };
    case 'launched':
      return {
        run: {
          ...run,
          ...started(rules),
          startedAtMs: event.startedAtMs,
          startedAt: new Date(event.startedAtMs).toISOString(),
          exitCode: undefined,
          message: undefined,
          unhealthyReason: undefined,
          launched: true,
        },
        effects: [...recorded, { type: 'watch' }],
      };
    case 'launchFailed': {
      const failed: Run = { ...run, exitCode: undefined, health: 'Unknown', launched: false };
      if (!event.retry || rules.policy === 'Never') return finish(failed, 'Failed', event.reason);
      // Retried with back-off: the command may be installed, the image pushed, later.
      return backOff(rules, failed, 0, (delay) => `${event.reason} (back-off ${delay} before retrying)`);
    }
    case 'adopted': {
      const { state, health } = event.state && event.health ? { state: event.state, health: event.health } : started(rules);
      return { run: { ...run, state, health, launched: true }, effects: [...recorded, { type: 'watch' }] };
    }
    case 'probeFailing': {
      // Only worth a message while it has not passed yet (once Running, only the verdict counts).
      if (run.state !== 'Starting' || run.health === 'Unhealthy') return { run, effects: [] };
      const message = `health check failing (${Math.min(event.consecutive, event.threshold)}/${event.threshold}): ${event.reason}`;
      return { run: { ...run, message }, effects: [{ type: 'emit' }] };
    }
    case 'healthy':
      return { run: { ...run, health: 'Healthy', state: 'Running', message: undefined }, effects: recorded };
    case 'unhealthy':
      return unhealthy(rules, run, event.reason);
    case 'exited':
      return exited(rules, run, event, now);
    case 'restartDue':
      return { run: { ...run, restarts: run.restarts + (rules.countsEveryAttempt || run.launched ? 1 : 0), launched: false }, effects: [{ type: 'launch' }] };
  }
}
