// Resource quantities (Kubernetes notation) in canonical units: millicores and bytes.
// The accepted forms are the schema's CpuQuantity and MemoryQuantity (schemas/common.schema.json).
import type { WorkloadSpec } from '../schemas/types.gen.ts';
import type { ResourceAmount } from './types.ts';
import { parseCpu, parseMemory } from '../schemas/quantity.ts';

// Parsing lives with the schema (the agent needs it too); re-exported for the reconciler's callers.
export { parseCpu, parseMemory };

/** Millicores as Kubernetes prints them: whole cores plain ("2"), otherwise in millicores ("1500m"). */
export function formatCpu(milli: number): string {
  const m = Math.max(0, Math.ceil(milli));
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

const BINARY: readonly [string, number][] = [['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]];
const DECIMAL: readonly [string, number][] = [['T', 1000 ** 4], ['G', 1000 ** 3], ['M', 1000 ** 2], ['k', 1000]];

/**
 * Bytes for messages: exact in the unit that gives the smallest number ("256Mi", "500M", "2T";
 * binary on a tie), else plain below 1Ki ("1023"); any other amount is approximated
 * in the largest binary unit, rounded down to one decimal ("3.5Gi"), so it never overstates.
 */
export function formatMemory(bytes: number): string {
  const b = Math.max(0, Math.floor(bytes));
  if (b === 0) return '0';
  // Of the exact forms, the one with the smallest number ("2T", not "1953125000Ki"); binary on a tie.
  let exact: [number, string] | undefined;
  for (const [unit, size] of [...BINARY, ...DECIMAL]) {
    if (b >= size && b % size === 0 && (exact === undefined || b / size < exact[0])) exact = [b / size, unit];
  }
  if (exact) return `${exact[0]}${exact[1]}`;
  if (b < 1024) return String(b);
  const [unit, size] = BINARY.find(([, size]) => b >= size)!;
  return `${Math.floor((b / size) * 10) / 10}${unit}`;
}

/** What one replica asks for. An absent request is 0: like a best-effort pod, it always fits. */
export function requestOf(spec: WorkloadSpec): ResourceAmount {
  const { cpu, memory } = spec.resources ?? {};
  return {
    milliCpu: cpu === undefined ? 0 : parseCpu(cpu),
    memoryBytes: memory === undefined ? 0 : parseMemory(memory),
  };
}
