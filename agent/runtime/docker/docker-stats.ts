// CPU and memory from one `docker stats` sample (the engine includes the previous sample as
// precpu_stats), computed as the docker CLI does: the container's share of the host's CPU time
// since the previous sample times the number of CPUs, and usage minus the page cache.
import type { InstanceStats } from '../types.ts';

export interface DockerStatsSample {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; stats?: { cache?: number; inactive_file?: number; total_inactive_file?: number } };
}

export function statsFromSample(sample: DockerStatsSample): InstanceStats {
  const cpu = sample.cpu_stats;
  const pre = sample.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
  const cpuCores = cpuDelta > 0 && systemDelta > 0 && pre?.system_cpu_usage ? (cpuDelta / systemDelta) * cpus : 0;
  const memory = sample.memory_stats;
  // cgroup v1 reports the page cache as total_inactive_file/cache, v2 as inactive_file.
  const cache = memory?.stats?.total_inactive_file ?? memory?.stats?.inactive_file ?? memory?.stats?.cache ?? 0;
  const memoryBytes = Math.max(0, Math.round((memory?.usage ?? 0) - cache));
  return { cpuCores, memoryBytes };
}
