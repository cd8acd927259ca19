// What the reconciler works on: views of the store's objects, with the fields it needs.
import type { Agent, Instance, Workload } from '../schemas/types.gen.ts';

export type { Agent, Instance, Workload };

/** Resources in canonical units: millicores and bytes. */
export interface ResourceAmount {
  milliCpu: number;
  memoryBytes: number;
}
