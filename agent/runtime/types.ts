// The contract every runtime implements (process now, docker next). A runtime owns the
// supervision of its instances on this machine: restart policy with crash-loop backoff, health
// checks, endpoints. The agent only says what should run; the runtime reports what does.
import type { DeploySpec, ObservedInstance } from '../../schemas/types.gen.ts';

// Wire types, generated from schemas/agent-protocol.schema.json.
export type { DeploySpec, ObservedInstance } from '../../schemas/types.gen.ts';

export type InstanceState = ObservedInstance['state'];

export interface LogOptions {
  tail?: number;
  follow?: boolean;
  /** The run before the last restart. */
  previous?: boolean;
}

export interface InstanceStats {
  /** CPU used since the last sample, in cores (0.5 = half a core). */
  cpuCores: number;
  memoryBytes: number;
}

export interface Runtime {
  readonly name: 'process' | 'docker';
  /** Starts the instance, or replaces it if templateHash differs; a no-op if it already runs. */
  deploy(spec: DeploySpec): Promise<void>;
  /** Stops (grace, then kill) and forgets the instance; a no-op if unknown. */
  stop(uid: string): Promise<void>;
  /** Everything this runtime runs, including what it adopted after an agent restart. */
  list(): ObservedInstance[];
  /** Called on every change of an instance's observed state. */
  onChange(listener: (instance: ObservedInstance) => void): () => void;
  logs(uid: string, options?: LogOptions): AsyncIterable<string>;
  stats(uid: string): Promise<InstanceStats>;
  /** Stops supervising and leaves instances running (an agent restart adopts them again). */
  close(): Promise<void>;
}
