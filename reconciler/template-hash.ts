// The identity of a Workload's template: what must match for a running instance to count as
// up to date. replicas is not part of it (scaling never rolls instances).
import { createHash } from 'node:crypto';
import type { WorkloadSpec } from '../schemas/types.gen.ts';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** extra: what else rolls the instances when it changes (e.g. versions of referenced secrets). */
export function templateHash(spec: WorkloadSpec, extra: Record<string, string> = {}): string {
  const { replicas: _replicas, ...template } = spec;
  return createHash('sha256').update(canonical({ template, extra })).digest('hex').slice(0, 16);
}
