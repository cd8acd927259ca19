// The contract every runtime implements (process and docker). A runtime owns the supervision of
// its instances on this machine: restart policy with crash-loop backoff, health checks,
// endpoints. The agent only says what should run; the runtime reports what does.
import type { DeploySpec, InstanceStats, ObservedInstance } from '../../schemas/types.gen.ts';

// Wire types, generated from schemas/agent-protocol.schema.json.
export type { DeploySpec, InstanceStats, ObservedInstance } from '../../schemas/types.gen.ts';

export type InstanceState = ObservedInstance['state'];

export type RuntimeName = 'process' | 'docker';

export interface LogOptions {
  tail?: number;
  follow?: boolean;
  /** The run before the last restart. */
  previous?: boolean;
}

export interface StopOptions {
  /** The workload is deleted: remove its volumes with reclaimPolicy Delete once none of its instances runs here. */
  reclaimVolumes?: boolean;
}

/** What the agent drives: one runtime, or several behind a router (agent/runtime/runtime-router.ts). */
export interface InstanceRuntime {
  /** Starts the instance, or replaces it if templateHash differs; a no-op if it already runs. */
  deploy(spec: DeploySpec): Promise<void>;
  /** Stops (grace, then kill) and forgets the instance; a no-op if unknown. */
  stop(uid: string, options?: StopOptions): Promise<void>;
  /** Everything this runtime runs, including what it adopted after an agent restart. */
  list(): ObservedInstance[];
  /** The spec an instance runs with, if this runtime has it. */
  specOf(uid: string): DeploySpec | undefined;
  /** Called on every change of an instance's observed state. */
  onChange(listener: (instance: ObservedInstance) => void): () => void;
  /** Rejects (or the iterator throws) with a reason a person can act on, e.g. "no previous run". */
  logs(uid: string, options?: LogOptions): AsyncIterable<string>;
  stats(uid: string): Promise<InstanceStats>;
  /** Stops supervising and leaves instances running (an agent restart adopts them again). */
  close(): Promise<void>;
}

export interface Runtime extends InstanceRuntime {
  readonly name: RuntimeName;
}

/** The runtimes an agent offers, as it reports them to the control plane. */
export interface AgentRuntime extends InstanceRuntime {
  readonly runtimes: readonly RuntimeName[];
}
