// The scheduler: which agent gets a new Instance. Pure — agents in, a placement or a reason out.
//
// Filter (in this order; an agent is counted under the first filter it fails): Ready, not
// unschedulable, not private to another user, has the runtime, runs processes for this tenant (a
// process runs as the agent's own OS user, without isolation: only the agent's owner's, unless the
// agent opted in), puts containers on its host network only for its owner (unless it opted in),
// matches placement.agentSelector, enough free cpu, enough free memory, and (on a shared agent
// another user runs) within the tenant's share of shared agents. Score the rest: fewest replicas
// of this workload first (spread), then least allocated after placement, then name. No fit → a reason naming the
// constraints, like the Kubernetes scheduler's "0/3 nodes are available: ..."; agents private to
// another user are left out of it, count included.
import { selectorFromMap } from '../store/label-selector.ts';
import type { LabelSelector } from '../store/label-selector.ts';
import type { WorkloadSpec } from '../schemas/types.gen.ts';
import { formatCpu, formatMemory } from '../schemas/quantity.ts';
import { requestOf } from './quantity.ts';
import type { ResourceAmount } from './types.ts';

export type Runtime = 'docker' | 'process';

export interface SchedulingAgent {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  unschedulable: boolean;
  /** Private agent: only this user's namespaces may use it. Absent: shared. */
  owner?: string;
  /** Whose join token it joined with: with the owner, the only user whose process workloads run here. */
  joinedBy?: string;
  /** The agent opted in to process workloads of every tenant that may use it. */
  tenantProcesses: boolean;
  /** Its containers share its own network (docker without a bridge, or --docker-network host). */
  hostNetwork: boolean;
  /** The agent opted in to every tenant's containers on its host network. */
  tenantHostNetwork: boolean;
  runtimes: readonly Runtime[];
  allocatable: ResourceAmount;
  /** Sum of the requests of the instances already bound here. */
  allocated: ResourceAmount;
}

export interface SchedulingRequest {
  /** The user owning the namespace (namespace name == username in Lattice). */
  tenant: string;
  template: WorkloadSpec;
  /**
   * What a replica that states no cpu or memory counts as on a shared agent, so that nothing
   * "always fits" a machine strangers share (a LimitRange's default requests, in Kubernetes).
   * On a private agent an absent request stays 0. Absent: 0 everywhere.
   */
  sharedDefaults?: ResourceAmount;
  /**
   * What the tenant may have requested, in all, on shared agents other users run, and what it
   * has: one stranger cannot fill the machines everybody shares. Absent: no limit.
   */
  sharedQuota?: { limit: ResourceAmount; used: ResourceAmount };
  /** Agent name → replicas of this workload already bound there (absent: none); for spreading. */
  replicasOn?: ReadonlyMap<string, number>;
}

export type Placement = { agent: string } | { reason: string };

/** The filters, in the order they are applied and reported. */
export const FILTERS = ['NotReady', 'Unschedulable', 'PrivateAgent', 'RuntimeMissing', 'ProcessesOwnerOnly', 'HostNetworkOwnerOnly', 'SelectorMismatch', 'InsufficientCpu', 'InsufficientMemory', 'SharedQuota'] as const;
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

/**
 * Large fleets: score only the first `scoreLimit` agents that fit, looking from `startAt` on
 * (like Nomad's limit iterator and Kubernetes' percentageOfNodesToScore). The caller moves
 * startAt between calls, so placements spread over the fleet. Absent: every agent is scored.
 */
export interface ScheduleOptions {
  scoreLimit?: number;
  startAt?: number;
}

export function scheduleInstance(request: SchedulingRequest, agents: readonly SchedulingAgent[], options: ScheduleOptions = {}): Placement {
  return scheduleReplicas(request, agents, 1, options)[0]!;
}

/**
 * Places `count` replicas one after the other, each seeing the ones before it (their requests
 * allocated, their replicas counted), so replicas spread. The input agents are not modified:
 * what this call places is kept aside, so agents can be the caller's live views.
 */
export function scheduleReplicas(request: SchedulingRequest, agents: readonly SchedulingAgent[], count: number, options: ScheduleOptions = {}): Placement[] {
  const compiled = compile(request);
  if ('reason' in compiled) return Array.from({ length: count }, () => compiled);
  const placed = new Map<string, number>();
  const placements: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const chosen = place(compiled, agents, placed, options);
    if ('reason' in chosen) {
      placements.push(chosen);
      continue;
    }
    placements.push({ agent: chosen.name });
    placed.set(chosen.name, (placed.get(chosen.name) ?? 0) + 1);
    // What this call puts on strangers' shared agents counts against the tenant's share at once.
    if (!runsFor(chosen, compiled.tenant)) addTo(compiled.sharedUsed, compiled.sharedNeed);
  }
  return placements;
}

interface Compiled {
  tenant: string;
  replicasOn: ReadonlyMap<string, number>;
  need: ResourceAmount;
  /** need with the shared defaults for what the template leaves out: what it asks of a shared agent. */
  sharedNeed: ResourceAmount;
  sharedLimit: ResourceAmount | undefined;
  /** The tenant's use of strangers' shared agents, this call's placements included (a copy). */
  sharedUsed: ResourceAmount;
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
  const resources = request.template.resources;
  const defaults = request.sharedDefaults;
  return {
    tenant: request.tenant,
    replicasOn: request.replicasOn ?? new Map(),
    need,
    sharedNeed: {
      milliCpu: resources?.cpu === undefined && defaults ? defaults.milliCpu : need.milliCpu,
      memoryBytes: resources?.memory === undefined && defaults ? defaults.memoryBytes : need.memoryBytes,
    },
    sharedLimit: request.sharedQuota?.limit,
    sharedUsed: { ...(request.sharedQuota?.used ?? { milliCpu: 0, memoryBytes: 0 }) },
    runtime: requiredRuntime(request.template),
    selector: selectorFromMap(map),
    selectorText: Object.keys(map)
      .sort()
      .map((k) => `${k}=${map[k]}`)
      .join(','),
  };
}

/** placedHere: replicas this scheduling call already put on the agent (their requests count as allocated). */
function reject(c: Compiled, agent: SchedulingAgent, placedHere: number): Rejection | undefined {
  if (!agent.ready) return { filter: 'NotReady', message: 'not ready' };
  if (agent.unschedulable) return { filter: 'Unschedulable', message: 'unschedulable' };
  if (agent.owner !== undefined && agent.owner !== c.tenant) return { filter: 'PrivateAgent', message: 'private to another user' };
  if (!agent.runtimes.includes(c.runtime)) return { filter: 'RuntimeMissing', message: `needs the ${c.runtime} runtime` };
  if (c.runtime === 'process' && !agent.tenantProcesses && !runsFor(agent, c.tenant))
    return { filter: 'ProcessesOwnerOnly', message: 'runs processes only for its owner (start it with --allow-tenant-processes to run them for every tenant)' };
  if (c.runtime === 'docker' && agent.hostNetwork && !agent.tenantHostNetwork && !runsFor(agent, c.tenant))
    return { filter: 'HostNetworkOwnerOnly', message: "shares its host network only with its owner's containers (start it with --docker-network bridge, or --allow-tenant-host-network)" };
  if (!c.selector.matches(agent.labels)) return { filter: 'SelectorMismatch', message: `does not match placement.agentSelector ${c.selectorText}` };
  const need = needOn(c, agent);
  const freeCpu = agent.allocatable.milliCpu - agent.allocated.milliCpu - placedHere * need.milliCpu;
  const freeMemory = agent.allocatable.memoryBytes - agent.allocated.memoryBytes - placedHere * need.memoryBytes;
  // A zero request always fits, even on an overcommitted agent (Kubernetes best-effort).
  if (need.milliCpu > 0 && need.milliCpu > freeCpu)
    return { filter: 'InsufficientCpu', message: `not enough cpu (needs ${formatCpu(need.milliCpu)}, ${formatCpu(freeCpu)} free)` };
  if (need.memoryBytes > 0 && need.memoryBytes > freeMemory)
    return { filter: 'InsufficientMemory', message: `not enough memory (needs ${formatMemory(need.memoryBytes)}, ${formatMemory(freeMemory)} free)` };
  if (c.sharedLimit && !runsFor(agent, c.tenant) && overShare(c.sharedUsed, need, c.sharedLimit))
    return { filter: 'SharedQuota', message: `${c.tenant} has used its share of shared agents (${shareText(c.sharedLimit)})` };
  return undefined;
}

/**
 * Whether the agent is the user's own: its private agent, or a shared one it joined. Elsewhere the
 * user is a stranger: processes and host networking only by the agent's opt-in, and what it
 * requests counts against its share of shared agents.
 */
export function runsFor(agent: Pick<SchedulingAgent, 'owner' | 'joinedBy'>, user: string): boolean {
  return (agent.owner ?? agent.joinedBy) === user;
}

function overShare(used: ResourceAmount, need: ResourceAmount, limit: ResourceAmount): boolean {
  return (need.milliCpu > 0 && used.milliCpu + need.milliCpu > limit.milliCpu) || (need.memoryBytes > 0 && used.memoryBytes + need.memoryBytes > limit.memoryBytes);
}

function addTo(total: ResourceAmount, amount: ResourceAmount): void {
  total.milliCpu += amount.milliCpu;
  total.memoryBytes += amount.memoryBytes;
}

function shareText(limit: ResourceAmount): string {
  return `at most ${formatCpu(limit.milliCpu)} cpu and ${formatMemory(limit.memoryBytes)} memory requested`;
}

/** What one replica asks of this agent: defaults fill what the template leaves out on a shared one. */
function needOn(c: Compiled, agent: SchedulingAgent): ResourceAmount {
  return agent.owner === undefined ? c.sharedNeed : c.need;
}

const EPSILON = 1e-9;

interface Candidate {
  agent: SchedulingAgent;
  replicas: number;
  load: number;
}

function place(c: Compiled, agents: readonly SchedulingAgent[], placed: ReadonlyMap<string, number>, { scoreLimit = Infinity, startAt = 0 }: ScheduleOptions): SchedulingAgent | { reason: string } {
  const n = agents.length;
  if (n === 0) return { reason: 'no agents have joined' };
  const counts = new Map<Filter, number>();
  let best: Candidate | undefined;
  let feasible = 0;
  let usable = 0;
  const start = ((startAt % n) + n) % n;
  for (let i = 0; i < n && feasible < scoreLimit; i++) {
    const agent = agents[(start + i) % n]!;
    const placedHere = placed.get(agent.name) ?? 0;
    const rejection = reject(c, agent, placedHere);
    // Another user's private agent is none of this tenant's business, not even in a count.
    if (rejection?.filter === 'PrivateAgent') continue;
    usable += 1;
    if (rejection) {
      counts.set(rejection.filter, (counts.get(rejection.filter) ?? 0) + 1);
      continue;
    }
    feasible += 1;
    const candidate = { agent, replicas: (c.replicasOn.get(agent.name) ?? 0) + placedHere, load: loadAfter(agent, needOn(c, agent), placedHere + 1) };
    if (best === undefined || better(candidate, best)) best = candidate;
  }
  if (best) return best.agent;
  if (usable === 0) return { reason: `no agent that ${c.tenant} may use has joined` };
  const parts = FILTERS.filter((f) => counts.has(f)).map((f) => phrase(f, counts.get(f)!, c));
  return { reason: `0/${usable} agents can run it: ${parts.join(', ')}` };
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.replicas !== b.replicas) return a.replicas < b.replicas;
  if (Math.abs(a.load - b.load) > EPSILON) return a.load < b.load;
  return a.agent.name < b.agent.name;
}

/** Mean of the cpu and memory fractions allocated once `times` × `need` more are placed on `agent`. */
function loadAfter(agent: SchedulingAgent, need: ResourceAmount, times: number): number {
  const cpu = fraction(agent.allocated.milliCpu + times * need.milliCpu, agent.allocatable.milliCpu);
  const memory = fraction(agent.allocated.memoryBytes + times * need.memoryBytes, agent.allocatable.memoryBytes);
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
      return `${n} private to another user`; // place() never counts them
    case 'RuntimeMissing':
      return `${n} ${one ? 'lacks' : 'lack'} the ${c.runtime} runtime`;
    case 'ProcessesOwnerOnly':
      return `${n} ${one ? 'runs' : 'run'} processes only for ${one ? 'its owner' : 'their owners'}`;
    case 'HostNetworkOwnerOnly':
      return `${n} ${one ? 'shares its' : 'share their'} host network only with ${one ? 'its owner' : 'their owners'}`;
    case 'SelectorMismatch':
      return `${n} ${one ? 'does' : 'do'} not match placement.agentSelector ${c.selectorText}`;
    // A zero request never lacks anything: a rejection for it was for the shared default.
    case 'InsufficientCpu':
      return `${n} ${one ? 'lacks' : 'lack'} cpu (needs ${formatCpu(c.need.milliCpu || c.sharedNeed.milliCpu)})`;
    case 'InsufficientMemory':
      return `${n} ${one ? 'lacks' : 'lack'} memory (needs ${formatMemory(c.need.memoryBytes || c.sharedNeed.memoryBytes)})`;
    case 'SharedQuota':
      return `${n} ${one ? 'is' : 'are'} shared and ${c.tenant} has used its share of shared agents (${shareText(c.sharedLimit!)})`;
  }
}
