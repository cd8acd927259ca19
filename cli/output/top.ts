// `lattice top`: what each instance uses (the agents measure it, GET …/stats), summed per workload
// or per agent, as kubectl top prints it: CPU in cores or millicores, memory in whole Mi.
import type { Agent, Workload, WorkloadStats } from '../../schemas/types.gen.ts';
import { formatCpu } from '../../schemas/quantity.ts';
import type { Row } from './table.ts';

export type TopKind = 'workloads' | 'instances' | 'agents';
export const TOP_KINDS: readonly TopKind[] = ['workloads', 'instances', 'agents'];

/** One workload's stats, as the API answered them. */
export interface WorkloadUsage {
  workload: Workload;
  stats: WorkloadStats;
}

type Item = WorkloadStats['items'][number];
type Measured = Extract<Item, { cpuCores: number }>;

const measured = (item: Item): item is Measured => 'cpuCores' in item;
/** Measured usage as top and describe print it. */
export const cpuText = (cores: number) => formatCpu(cores * 1000);
export const memoryText = (bytes: number) => `${Math.round(bytes / 1024 ** 2)}Mi`;

interface Sum {
  instances: number;
  measured: number;
  cpuCores: number;
  memoryBytes: number;
}

function sum(items: readonly Item[]): Sum {
  const total: Sum = { instances: items.length, measured: 0, cpuCores: 0, memoryBytes: 0 };
  for (const item of items) {
    if (!measured(item)) continue;
    total.measured += 1;
    total.cpuCores += item.cpuCores;
    total.memoryBytes += item.memoryBytes;
  }
  return total;
}

/** "2/3" when some instance could not be measured (its agent did not answer). */
const counted = (s: Sum) => (s.measured === s.instances ? String(s.instances) : `${s.measured}/${s.instances}`);

export function topTable(kind: TopKind, usage: readonly WorkloadUsage[], agents: readonly Agent[] = []): { header: Row; rows: Row[] } {
  if (kind === 'instances') {
    const rows = usage
      .flatMap(({ workload, stats }) => stats.items.map((item) => ({ workload: workload.metadata.name, item })))
      .sort((a, b) => a.item.instance.localeCompare(b.item.instance))
      .map(({ workload, item }) => (measured(item) ? [item.instance, workload, item.agent, cpuText(item.cpuCores), memoryText(item.memoryBytes)] : [item.instance, workload, item.agent, '<unknown>', `<unknown: ${item.error}>`]));
    return { header: ['NAME', 'WORKLOAD', 'AGENT', 'CPU', 'MEMORY'], rows };
  }
  if (kind === 'workloads') {
    const rows = [...usage]
      .sort((a, b) => a.workload.metadata.name.localeCompare(b.workload.metadata.name))
      .map(({ workload, stats }) => {
        const total = sum(stats.items);
        return [workload.metadata.name, counted(total), cpuText(total.cpuCores), memoryText(total.memoryBytes)];
      });
    return { header: ['NAME', 'INSTANCES', 'CPU', 'MEMORY'], rows };
  }
  const byAgent = new Map<string, Item[]>();
  for (const { stats } of usage) for (const item of stats.items) byAgent.set(item.agent, [...(byAgent.get(item.agent) ?? []), item]);
  const names = [...new Set([...agents.map((a) => a.metadata.name), ...byAgent.keys()])].sort();
  const rows = names.map((name) => {
    const total = sum(byAgent.get(name) ?? []);
    const capacity = agents.find((a) => a.metadata.name === name)?.status?.capacity;
    return [name, counted(total), cpuText(total.cpuCores), memoryText(total.memoryBytes), capacity ? `${capacity.cpu ?? '?'} cpu, ${capacity.memory ?? '?'}` : '<unknown>'];
  });
  return { header: ['NAME', 'YOUR INSTANCES', 'CPU', 'MEMORY', 'CAPACITY'], rows };
}
