// A process workload's volumes: a directory on the agent per namespace + workload + volume (names
// are DNS labels, which hold no '.', so two workloads never share one), 0700, kept across
// restarts and rollouts; the process finds it in LATTICE_VOLUME_<NAME> (its name in capitals,
// '-' as '_'). Where a container mounts its volume at mountPath, a process cannot: the host's
// paths are not its own to choose.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploySpec } from './types.ts';

export function volumeVariable(name: string): string {
  return `LATTICE_VOLUME_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** Makes the spec's volume directories (if missing) and returns the variables that name them. */
export function processVolumes(volumesDir: string, spec: DeploySpec): Record<string, string> {
  const env: Record<string, string> = {};
  for (const volume of spec.template.volumes ?? []) {
    const dir = join(volumesDir, `${spec.namespace}.${spec.workload}.${volume.name}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    env[volumeVariable(volume.name)] = dir;
  }
  return env;
}
