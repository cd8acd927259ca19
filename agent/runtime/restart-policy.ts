// What both runtimes' supervisors decide the same way: whether an ended run restarts (restartPolicy
// with crash-loop back-off) and with which message, and how an instance looks to the control
// plane (endpoints only while ready, like a Service's endpoints).
import type { Condition } from '../../schemas/types.gen.ts';
import type { CrashLoopBackoff } from './backoff.ts';
import { hostEndpoints } from './endpoints.ts';
import { onHostPorts, type HostPorts } from './host-ports.ts';
import type { DeploySpec, InstanceState, ObservedInstance } from './types.ts';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export function formatDelay(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))}s`;
}

export type Outcome = { restart: false; state: 'Exited' | 'Failed'; message: string } | { restart: true; delayMs: number; message: string };

/** A run of a `what` (process, container) ended, as `how` says ("exit code 1, …"). */
export function afterExit(policy: RestartPolicy, failed: boolean, what: string, how: string, backoff: CrashLoopBackoff, ranForMs: number): Outcome {
  const restart = policy === 'Always' || (policy === 'OnFailure' && failed);
  if (!restart) return { restart: false, state: failed ? 'Failed' : 'Exited', message: `${what} ${failed ? 'failed' : 'exited'} (${how})` };
  const delayMs = backoff.next(ranForMs);
  return { restart: true, delayMs, message: `back-off ${formatDelay(delayMs)} restarting ${failed ? 'failed' : 'exited'} ${what} (${how})` };
}

/** A run could not even start (command not found, image cannot be pulled): retried unless restartPolicy is Never. */
export function afterStartFailure(policy: RestartPolicy, reason: string, backoff: CrashLoopBackoff): Outcome {
  if (policy === 'Never') return { restart: false, state: 'Failed', message: reason };
  const delayMs = backoff.next(0);
  return { restart: true, delayMs, message: `${reason} (back-off ${formatDelay(delayMs)} before retrying)` };
}

export interface RunView {
  state: InstanceState;
  health: ObservedInstance['health'];
  restarts: number;
  exitCode: number | undefined;
  startedAt: string | undefined;
  message: string | undefined;
  hostPorts: HostPorts;
  /** Conditions of the runtime's own (TunnelReady is added later, by the tunnels). */
  conditions?: Condition[];
}

export function observe(spec: DeploySpec, run: RunView, advertiseAddress: string): ObservedInstance {
  const ready = run.state === 'Running' && run.health === 'Healthy';
  return {
    uid: spec.uid,
    templateHash: spec.templateHash,
    state: run.state,
    restarts: run.restarts,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
    ...(run.startedAt !== undefined ? { startedAt: run.startedAt } : {}),
    health: run.health,
    endpoints: ready ? hostEndpoints(onHostPorts(spec.template.ports, run.hostPorts), advertiseAddress) : [],
    ...(run.message !== undefined ? { message: run.message } : {}),
    ...(run.conditions && run.conditions.length > 0 ? { conditions: run.conditions } : {}),
  };
}
