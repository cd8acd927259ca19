// A process workload's volumes: a directory on the agent per namespace + workload + volume (names
// are DNS labels, which hold no '.', so two workloads never share one), 0700, kept across
// restarts and rollouts; the process finds it in LATTICE_VOLUME_<NAME> (its name in capitals,
// '-' as '_'). Where a container mounts its volume at mountPath, a process cannot: the host's
// paths are not its own to choose. A workingDir at (or under) a volume's mountPath is that place in
// the volume's directory. A volume with reclaimPolicy Delete goes when its workload is deleted.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { volumeUnder } from '../../schemas/workload-rules.ts';
import type { DeploySpec } from './types.ts';

function volumeDir(volumesDir: string, spec: DeploySpec, name: string): string {
  return join(volumesDir, `${spec.namespace}.${spec.workload}.${name}`);
}

export function volumeVariable(name: string): string {
  return `LATTICE_VOLUME_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** Makes the spec's volume directories (if missing) and returns the variables that name them. */
export function processVolumes(volumesDir: string, spec: DeploySpec): Record<string, string> {
  const env: Record<string, string> = {};
  for (const volume of spec.template.volumes ?? []) {
    const dir = volumeDir(volumesDir, spec, volume.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    env[volumeVariable(volume.name)] = dir;
  }
  return env;
}

/** The process's working directory: where spec.workingDir lies in its volume, else the instance's own. */
export function processWorkingDir(volumesDir: string, spec: DeploySpec, instanceDir: string): string {
  const workingDir = spec.template.workingDir;
  if (workingDir === undefined) return instanceDir;
  const under = volumeUnder(spec.template, workingDir);
  // Checked when the workload was applied; a spec from elsewhere still never escapes to a host path.
  if (!under) throw new Error(`workingDir ${workingDir} is not under any of the workload's volumes' mountPath`);
  const dir = join(volumeDir(volumesDir, spec, under.name), under.rest);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Removes the directories of the workload's volumes whose reclaimPolicy is Delete. */
export function reclaimVolumes(volumesDir: string, spec: DeploySpec): void {
  for (const volume of spec.template.volumes ?? []) {
    if (volume.reclaimPolicy === 'Delete') rmSync(volumeDir(volumesDir, spec, volume.name), { recursive: true, force: true });
  }
}
