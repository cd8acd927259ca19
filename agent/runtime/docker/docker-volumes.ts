// A docker workload's named volumes: created with labels that say whose they are, mounted only for
// that workload, and removed with it when it wants them gone (reclaimPolicy Delete).
import type Docker from 'dockerode';
import type { DeploySpec } from '../types.ts';
import { volumeLabels, volumeName, volumeRefusal } from './container-spec.ts';
import { statusCode } from './docker-errors.ts';

/**
 * Creates the workload's named volumes with their ownership labels, or checks the labels of
 * those that exist. The reason when one is not provably this workload's (it is then not mounted).
 */
export async function ensureVolumes(docker: Docker, spec: DeploySpec): Promise<string | undefined> {
  for (const { name } of spec.template.volumes ?? []) {
    const volume = volumeName(spec, name);
    const existing = await docker
      .getVolume(volume)
      .inspect()
      .catch((error: unknown) => {
        if (statusCode(error) === 404) return undefined;
        throw error;
      });
    if (existing) {
      const refusal = volumeRefusal(spec, name, existing.Labels);
      if (refusal) return refusal;
      continue;
    }
    await docker.createVolume({ Name: volume, Labels: volumeLabels(spec, name) });
  }
  return undefined;
}

/** Removes the workload's volumes with reclaimPolicy Delete, if they are provably its own. */
export async function reclaimVolumes(docker: Docker, spec: DeploySpec, log: (message: string) => void): Promise<void> {
  for (const { name, reclaimPolicy } of spec.template.volumes ?? []) {
    if (reclaimPolicy !== 'Delete') continue;
    const volume = docker.getVolume(volumeName(spec, name));
    const info = await volume.inspect().catch(() => undefined);
    if (!info || volumeRefusal(spec, name, info.Labels)) continue;
    await volume.remove().catch((error: unknown) => log(`volume ${volumeName(spec, name)} not removed: ${(error as Error).message}`));
  }
}
