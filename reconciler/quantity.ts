// What a Workload's replica asks for, in canonical units (parsing lives in schemas/quantity.ts).
import type { WorkloadSpec } from '../schemas/types.gen.ts';
import type { ResourceAmount } from './types.ts';
import { parseCpu, parseMemory } from '../schemas/quantity.ts';

/** What one replica asks for. An absent request is 0: like a best-effort pod, it always fits. */
export function requestOf(spec: WorkloadSpec): ResourceAmount {
  const { cpu, memory } = spec.resources ?? {};
  return {
    milliCpu: cpu === undefined ? 0 : parseCpu(cpu),
    memoryBytes: memory === undefined ? 0 : parseMemory(memory),
  };
}
