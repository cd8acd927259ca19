// What each view shows, computed from the watched objects: pure functions of (objects, filter),
// tested under node. The elements only render these.
import type { Agent, Condition, Endpoint, Event, Instance, ServedAgent, ServedWorkload, ServedWorkloadSpec, Workload } from '../../schemas/types.gen.ts';
import { memoryBytes, milliCpu } from './format.ts';

export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

export interface WorkloadRow {
  key: string;
  name: string;
  namespace: string;
  phase: string;
  ready: number;
  desired: number;
  restarts: number;
  endpoints: readonly Endpoint[];
  created: string | undefined;
  deleting: boolean;
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Instances grouped by their workload (namespace/name). */
export function instancesByWorkload(instances: readonly Instance[]): Map<string, Instance[]> {
  const groups = new Map<string, Instance[]>();
  for (const instance of instances) {
    const k = key(instance.metadata.namespace, instance.spec.workload);
    const group = groups.get(k);
    if (group) group.push(instance);
    else groups.set(k, [instance]);
  }
  return groups;
}

/** Workloads in the cache's order (namespace, name), filtered; restarts summed over instances. */
export function workloadRows(workloads: readonly ServedWorkload[], instances: readonly Instance[], filter: { namespace?: string; labels?: LabelMatcher } = {}): WorkloadRow[] {
  const byWorkload = instancesByWorkload(instances);
  const rows: WorkloadRow[] = [];
  for (const w of workloads) {
    if (filter.namespace && w.metadata.namespace !== filter.namespace) continue;
    if (filter.labels && !filter.labels(w.metadata.labels)) continue;
    const k = key(w.metadata.namespace, w.metadata.name);
    rows.push({
      key: k,
      name: w.metadata.name,
      namespace: w.metadata.namespace ?? '',
      phase: w.metadata.deletionTimestamp ? 'Terminating' : (w.status?.phase ?? 'Pending'),
      ready: w.status?.readyReplicas ?? 0,
      desired: w.spec.replicas,
      restarts: (byWorkload.get(k) ?? []).reduce((sum, i) => sum + (i.status?.restarts ?? 0), 0),
      endpoints: w.status?.endpoints ?? [],
      created: w.metadata.creationTimestamp,
      deleting: w.metadata.deletionTimestamp !== undefined,
    });
  }
  return rows;
}

export function instancesOf(instances: readonly Instance[], namespace: string, workload: string): Instance[] {
  return instances.filter((i) => i.metadata.namespace === namespace && i.spec.workload === workload);
}

export interface SpecLine {
  label: string;
  value: string;
}

/**
 * The spec as a few readable lines. Environment variables are shown by name and source only: a
 * value may be a credential someone wrote inline, and a secretKeyRef names where it comes from.
 */
export function specSummary(spec: ServedWorkloadSpec): SpecLine[] {
  const lines: SpecLine[] = [];
  if (spec.image) lines.push({ label: 'Image', value: spec.image });
  if (spec.command) lines.push({ label: spec.image ? 'Entrypoint' : 'Command', value: spec.command.join(' ') });
  if (spec.args?.length) lines.push({ label: 'Args', value: spec.args.join(' ') });
  lines.push({ label: 'Replicas', value: String(spec.replicas) });
  if (spec.ports?.length) {
    lines.push({ label: 'Ports', value: spec.ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.containerPort}/${p.protocol} (expose ${p.expose})`).join(', ') });
  }
  const { cpu, memory } = spec.resources ?? {};
  lines.push({ label: 'Resources', value: cpu || memory ? [cpu && `cpu ${cpu}`, memory && `memory ${memory}`].filter(Boolean).join(', ') : 'none requested' });
  const selector = Object.entries(spec.placement?.agentSelector ?? {});
  lines.push({ label: 'Placement', value: selector.length ? `agents with ${selector.map(([k, v]) => `${k}=${v}`).join(', ')}` : 'any agent' });
  lines.push({ label: 'Restart policy', value: spec.restartPolicy });
  const check = spec.healthCheck;
  if (check) {
    const probe = check.http ? `http ${check.http.path} on ${check.http.port}` : check.tcp ? `tcp on ${check.tcp.port}` : check.exec ? `exec ${check.exec.command.join(' ')}` : 'none';
    lines.push({ label: 'Health check', value: `${probe}, every ${check.intervalSeconds}s` });
  }
  if (spec.env?.length) {
    lines.push({ label: 'Environment', value: spec.env.map((e) => (e.valueFrom ? `${e.name} (from secret ${e.valueFrom.secretKeyRef.name}.${e.valueFrom.secretKeyRef.key})` : e.name)).join(', ') });
  }
  if (spec.volumes?.length) lines.push({ label: 'Volumes', value: spec.volumes.map((v) => `${v.name} at ${v.mountPath}`).join(', ') });
  return lines;
}

export interface Usage {
  used: number;
  total: number;
}

export interface AgentRow {
  key: string;
  name: string;
  ready: Condition | undefined;
  runtimes: readonly string[];
  cpu: Usage;
  memory: Usage;
  instances: number;
  lastHeartbeat: string | undefined;
  labels: readonly [string, string][];
  unschedulable: boolean;
  owner: string | undefined;
}

/**
 * The runtimes an agent offers, with whose workloads they take where that is limited (the trust
 * model): processes run as the agent's own user, and host-networked containers share its network,
 * so both are for the agent's owner unless it opted in.
 */
export function runtimeLabels(agent: Agent): string[] {
  const status = agent.status;
  return (status?.runtimes ?? []).map((runtime) => {
    if (runtime === 'process') return status?.tenantProcesses ? 'process (every tenant)' : 'process (owner only)';
    if (status?.dockerNetwork === 'host') return status.tenantHostNetwork ? 'docker (host network, every tenant)' : 'docker (host network, owner only)';
    return runtime;
  });
}

/**
 * Allocated = what the instances bound to an agent (and not being deleted) request, as the
 * scheduler counts it; out of allocatable (or capacity). Only the instances the viewer may see
 * count: on a shared agent a tenant sees its own share.
 */
export function agentRows(agents: readonly ServedAgent[], instances: readonly Instance[]): AgentRow[] {
  const bound = new Map<string, Instance[]>();
  for (const i of instances) {
    if (!i.spec.agent || i.metadata.deletionTimestamp) continue;
    const list = bound.get(i.spec.agent);
    if (list) list.push(i);
    else bound.set(i.spec.agent, [i]);
  }
  return agents.map((agent) => {
    const mine = bound.get(agent.metadata.name) ?? [];
    const total = agent.status?.allocatable ?? agent.status?.capacity ?? {};
    return {
      key: agent.metadata.name,
      name: agent.metadata.name,
      ready: agent.status?.conditions?.find((c) => c.type === 'Ready'),
      runtimes: runtimeLabels(agent),
      cpu: { used: mine.reduce((s, i) => s + (milliCpu(i.spec.template.resources?.cpu) ?? 0), 0), total: milliCpu(total.cpu) ?? 0 },
      memory: { used: mine.reduce((s, i) => s + (memoryBytes(i.spec.template.resources?.memory) ?? 0), 0), total: memoryBytes(total.memory) ?? 0 },
      instances: mine.length,
      lastHeartbeat: agent.status?.lastHeartbeatTime,
      labels: Object.entries(agent.metadata.labels ?? {}),
      unschedulable: agent.spec.unschedulable,
      owner: agent.spec.owner,
    };
  });
}

function lastSeen(event: Event): string {
  return event.spec.lastTimestamp ?? event.metadata.creationTimestamp ?? '';
}

/** Newest first; among equal times by namespace and name, so rows never swap places on their own. */
export function newestFirst<E extends Event>(events: readonly E[]): E[] {
  return [...events].sort((a, b) => {
    const ta = lastSeen(a);
    const tb = lastSeen(b);
    if (ta !== tb) return ta < tb ? 1 : -1;
    const ka = key(a.metadata.namespace, a.metadata.name);
    const kb = key(b.metadata.namespace, b.metadata.name);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * Events about the workload itself or one of its instances, newest first. With its uid, those of
 * an earlier workload of the same name (deleted, then applied again) are not its own.
 */
export function eventsForWorkload<E extends Event>(events: readonly E[], namespace: string, name: string, instanceNames: ReadonlySet<string>, uid?: string): E[] {
  return newestFirst(
    events.filter((e) => {
      const o = e.spec.involvedObject;
      if (e.metadata.namespace !== namespace) return false;
      if (o.kind === 'Workload') return o.name === name && (uid === undefined || o.uid === undefined || o.uid === uid);
      return o.kind === 'Instance' && instanceNames.has(o.name);
    }),
  );
}

/** The newest events, in one namespace or all (''). */
export function eventsIn<E extends Event>(events: readonly E[], namespace: string): E[] {
  return newestFirst(namespace ? events.filter((e) => e.metadata.namespace === namespace) : events);
}

/** The namespaces to offer in the filter: the caller's, plus any a workload is in. */
export function namespaceChoices(own: readonly string[], workloads: readonly Workload[]): string[] {
  const all = new Set(own);
  for (const w of workloads) if (w.metadata.namespace) all.add(w.metadata.namespace);
  return [...all].sort();
}

export type Meaning = 'good' | 'info' | 'warn' | 'bad' | 'quiet';

/**
 * What a condition means for the person reading it, which its status alone does not say:
 * Progressing=True is work under way, but with reason InstanceFailing it is trouble; a
 * SecondConnection=True is a warning; Progressing=False once everything is ready is just done.
 */
export function conditionMeaning(condition: Pick<Condition, 'type' | 'status' | 'reason'>): Meaning {
  if (condition.status === 'Unknown') return 'quiet';
  const on = condition.status === 'True';
  switch (condition.type) {
    case 'Progressing':
      if (condition.reason === 'InstanceFailing') return 'warn';
      return on ? 'info' : 'good';
    case 'SecondConnection':
      return on ? 'warn' : 'good';
    default:
      // Available, Ready, TunnelReady and the like: True is what one wants.
      return on ? 'good' : 'warn';
  }
}
