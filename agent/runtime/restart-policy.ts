// How an instance looks to the control plane (endpoints only while ready, like a Service's
// endpoints); whether an ended run restarts is decided in run-transitions.ts.
import type { Condition } from '../../schemas/types.gen.ts';
import { hostEndpoints } from './endpoints.ts';
import { onHostPorts, type HostPorts } from './host-ports.ts';
import type { DeploySpec, InstanceState, ObservedInstance } from './types.ts';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export function formatDelay(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))}s`;
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
