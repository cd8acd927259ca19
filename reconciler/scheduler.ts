// The scheduler: which agent gets a new Instance. Pure — agents in, a placement or a reason out.
//
// Filter (in this order; an agent is counted under the first filter it fails): Ready, not
// unschedulable, not private to another user, has the runtime, matches placement.agentSelector,
// enough free cpu, enough free memory. Score the rest: fewest replicas of this workload first
// (spread), then least allocated after placement, then name. No fit → a reason naming the
// constraints, like the Kubernetes scheduler's "0/3 nodes are available: ...".
import { selectorFromMap } from '../store/label-selector.ts';
import type { LabelSelector } from '../store/label-selector.ts';
import type { WorkloadSpec } from '../schemas/types.gen.ts';
import { formatCpu, formatMemory, requestOf } from './quantity.ts';
import type { ResourceAmount } from './types.ts';

export type Runtime = 'docker' | 'process';

export interface SchedulingAgent {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  unschedulable: boolean;
  /** Private agent: only this user's namespaces may use it. Absent: shared. */
  owner?: string;
  runtimes: readonly Runtime[];
  allocatable: ResourceAmount;
  /** Sum of the requests of the instances already bound here. */
  allocated: ResourceAmount;
  /** How many instances of the workload being placed are already bound here. */
  replicasOfWorkload: number;
}

export interface SchedulingRequest {
  /** The user owning the namespace (namespace name == username in Lattice). */
  tenant: string;
  template: WorkloadSpec;
}

export type Placement = { agent: string } | { reason: string };

/** The filters, in the order they are applied and reported. */
export const FILTERS = ['NotReady', 'Unschedulable', 'PrivateAgent', 'RuntimeMissing', 'SelectorMismatch', 'InsufficientCpu', 'InsufficientMemory'] as const;
export type Filter = (typeof FILTERS)[number];

/** Why one agent cannot take the request; `message` reads after the agent's name ("laptop: not ready"). */
export interface Rejection {
  filter: Filter;
  message: string;
}

/** An image runs under docker; a bare command runs as a process. */
export function requiredRuntime(spec: WorkloadSpec): Runtime {
  return spec.image !== undefined ? 'docker' : 'process';
}

export function scheduleInstance(request: SchedulingRequest, agents: readonly SchedulingAgent[]): Placement {
  const compiled = compile(request);
  return 'reason' in compiled ? compiled : place(compiled, agents);
}

/**
 * Places `count` replicas one after the other, each seeing the ones before it (their requests
 * allocated, their replicas counted), so replicas spread. The input agents are not modified.
 */
export function scheduleReplicas(request: SchedulingRequest, agents: readonly SchedulingAgent[], count: number): Placement[] {
  const compiled = compile(request);
  if ('reason' in compiled) return Array.from({ length: count }, () => compiled);
  const working = agents.map((a) => ({ ...a, allocated: { ...a.allocated } }));
  const placements: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const placement = place(compiled, working);
    placements.push(placement);
    if ('agent' in placement) {
      const chosen = working.find((a) => a.name === placement.agent)!;
      chosen.allocated.milliCpu += compiled.need.milliCpu;
      chosen.allocated.memoryBytes += compiled.need.memoryBytes;
      chosen.replicasOfWorkload += 1;
    }
  }
  return placements;
}

/**
 * The first filter `agent` fails for `request` ("not enough cpu (needs 2, 1500m free)"), or
 * undefined when it fits. For describe and events. Throws RangeError on an invalid quantity.
 */
export function checkAgent(request: SchedulingRequest, agent: SchedulingAgent): Rejection | undefined {
  const compiled = compile(request);
  if ('reason' in compiled) throw new RangeError(compiled.reason);
  return reject(compiled, agent);
}

interface Compiled {
  tenant: string;
  need: ResourceAmount;
  runtime: Runtime;
  selector: LabelSelector;
  /** "zone=eu,disk=ssd", keys sorted, for messages. */
  selectorText: string;
}

function compile(request: SchedulingRequest): Compiled | { reason: string } {
  let need: ResourceAmount;
  try {
    need = requestOf(request.template);
  } catch (err) {
    // The schema rejects these at apply time; a stored object that slipped through still gets a reason, not a crash.
    return { reason: `invalid resources: ${(err as Error).message}` };
  }
  const map = request.template.placement?.agentSelector ?? {};
  return {
    tenant: request.tenant,
    need,
    runtime: requiredRuntime(request.template),
    selector: selectorFromMap(map),
    selectorText: Object.keys(map)
      .sort()
      .map((k) => `${k}=${map[k]}`)
      .join(','),
  };
}

function reject(c: Compiled, agent: SchedulingAgent): Rejection | undefined {
  if (!agent.ready) return { filter: 'NotReady', message: 'not ready' };
  if (agent.unschedulable) return { filter: 'Unschedulable', message: 'unschedulable' };
  if (agent.owner !== undefined && agent.owner !== c.tenant) return { filter: 'PrivateAgent', message: 'private to another user' };
  if (!agent.runtimes.includes(c.runtime)) return { filter: 'RuntimeMissing', message: `needs the ${c.runtime} runtime` };
  if (!c.selector.matches(agent.labels)) return { filter: 'SelectorMismatch', message: `does not match placement.agentSelector ${c.selectorText}` };
  const free = freeOn(agent);
  // A zero request always fits, even on an overcommitted agent (Kubernetes best-effort).
  if (c.need.milliCpu > 0 && c.need.milliCpu > free.milliCpu)
    return { filter: 'InsufficientCpu', message: `not enough cpu (needs ${formatCpu(c.need.milliCpu)}, ${formatCpu(free.milliCpu)} free)` };
  if (c.need.memoryBytes > 0 && c.need.memoryBytes > free.memoryBytes)
    return { filter: 'InsufficientMemory', message: `not enough memory (needs ${formatMemory(c.need.memoryBytes)}, ${formatMemory(free.memoryBytes)} free)` };
  return undefined;
}

function freeOn(agent: SchedulingAgent): ResourceAmount {
  return {
    milliCpu: agent.allocatable.milliCpu - agent.allocated.milliCpu,
    memoryBytes: agent.allocatable.memoryBytes - agent.allocated.memoryBytes,
  };
}

const EPSILON = 1e-9;

function place(c: Compiled, agents: readonly SchedulingAgent[]): Placement {
  if (agents.length === 0) return { reason: 'no agents have joined' };
  const counts = new Map<Filter, number>();
  let best: { agent: SchedulingAgent; load: number } | undefined;
  for (const agent of agents) {
    const rejection = reject(c, agent);
    if (rejection) {
      counts.set(rejection.filter, (counts.get(rejection.filter) ?? 0) + 1);
      continue;
    }
    const load = loadAfter(agent, c.need);
    if (best === undefined || better(agent, load, best.agent, best.load)) best = { agent, load };
  }
  if (best) return { agent: best.agent.name };
  const parts = FILTERS.filter((f) => counts.has(f)).map((f) => phrase(f, counts.get(f)!, c));
  return { reason: `0/${agents.length} agents can run it: ${parts.join(', ')}` };
}

function better(a: SchedulingAgent, aLoad: number, b: SchedulingAgent, bLoad: number): boolean {
  if (a.replicasOfWorkload !== b.replicasOfWorkload) return a.replicasOfWorkload < b.replicasOfWorkload;
  if (Math.abs(aLoad - bLoad) > EPSILON) return aLoad < bLoad;
  return a.name < b.name;
}

/** Mean of the cpu and memory fractions allocated once `need` is placed on `agent`. */
function loadAfter(agent: SchedulingAgent, need: ResourceAmount): number {
  const cpu = fraction(agent.allocated.milliCpu + need.milliCpu, agent.allocatable.milliCpu);
  const memory = fraction(agent.allocated.memoryBytes + need.memoryBytes, agent.allocatable.memoryBytes);
  return (cpu + memory) / 2;
}

function fraction(used: number, allocatable: number): number {
  if (allocatable <= 0) return used > 0 ? 1 : 0;
  return used / allocatable;
}

function phrase(filter: Filter, n: number, c: Compiled): string {
  const one = n === 1;
  switch (filter) {
    case 'NotReady':
      return `${n} not ready`;
    case 'Unschedulable':
      return `${n} unschedulable`;
    case 'PrivateAgent':
      return `${n} private to another user`;
    case 'RuntimeMissing':
      return `${n} ${one ? 'lacks' : 'lack'} the ${c.runtime} runtime`;
    case 'SelectorMismatch':
      return `${n} ${one ? 'does' : 'do'} not match placement.agentSelector ${c.selectorText}`;
    case 'InsufficientCpu':
      return `${n} ${one ? 'lacks' : 'lack'} cpu (needs ${formatCpu(c.need.milliCpu)})`;
    case 'InsufficientMemory':
      return `${n} ${one ? 'lacks' : 'lack'} memory (needs ${formatMemory(c.need.memoryBytes)})`;
  }
}
