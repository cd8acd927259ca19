// `lattice describe` pages: the object's fields in words, then the related objects as tables.
import type { Agent, Condition, Instance, LatticeObject, ServedEvent, ServedSecret, ServedWorkload, ServedWorkloadSpec, WorkloadSpec, WorkloadStats } from '../../schemas/types.gen.ts';
import { age } from '../duration.ts';
import { isReadyCondition } from '../../schemas/conditions.ts';
import { commandLine, readableMemory, workloadStatus } from './columns.ts';
import { formatTable, type Row } from './table.ts';
import { cpuText, memoryText } from './top.ts';

type Field = [label: string, value: string | undefined];

const none = '<none>';

function fields(list: readonly Field[]): string {
  const shown = list.filter(([, v]) => v !== undefined) as [string, string][];
  const width = Math.max(...shown.map(([l]) => l.length)) + 2;
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`).join('\n');
}

function section(title: string, header: Row, rows: readonly Row[]): string {
  if (rows.length === 0) return `${title}: ${none}`;
  return `${title}:\n${formatTable(header, rows).replace(/^/gm, '  ')}`;
}

function map(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : none;
}

function when(timestamp: string | undefined, now: number): string | undefined {
  return timestamp ? `${timestamp} (${age(timestamp, now)} ago)` : undefined;
}

function conditions(list: readonly Condition[] | undefined): string {
  return section('Conditions', ['TYPE', 'STATUS', 'REASON', 'MESSAGE'], (list ?? []).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']));
}

function events(list: readonly ServedEvent[], now: number): string {
  const rows = [...list]
    .sort((a, b) => (a.spec.lastTimestamp ?? '').localeCompare(b.spec.lastTimestamp ?? ''))
    .map((e) => [age(e.spec.lastTimestamp ?? e.metadata.creationTimestamp, now), e.spec.type, e.spec.reason, e.spec.count > 1 ? `(x${e.spec.count}) ${e.spec.message ?? ''}` : (e.spec.message ?? '')]);
  return section('Events', ['LAST SEEN', 'TYPE', 'REASON', 'MESSAGE'], rows);
}

function metadata(object: LatticeObject, now: number): Field[] {
  return [
    ['Name', object.metadata.name],
    ['Namespace', object.metadata.namespace],
    ['Labels', map(object.metadata.labels)],
    ['Annotations', map(object.metadata.annotations)],
    ['Created', when(object.metadata.creationTimestamp, now)],
    ['Deleting since', object.metadata.deletionTimestamp],
  ];
}

function runtime(spec: WorkloadSpec): string {
  // A script passed with -e spans lines; one line keeps the page readable.
  const line = (text: string) => text.replace(/\s+/g, ' ').trim();
  return spec.image ? `docker, image ${spec.image}${spec.command || spec.args ? ` (runs ${line([...(spec.command ?? []), ...(spec.args ?? [])].join(' '))})` : ''}` : `process: ${line(commandLine(spec))}`;
}

function env(spec: WorkloadSpec): string {
  if (!spec.env?.length) return none;
  return spec.env.map((e) => (e.valueFrom ? `${e.name} from secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}` : `${e.name}=${e.value}`)).join(', ');
}

function healthCheck(spec: ServedWorkloadSpec): string {
  const h = spec.healthCheck;
  if (!h) return none;
  const probe = h.http ? `http GET ${h.http.path} on port ${h.http.port}` : h.tcp ? `tcp connect to port ${h.tcp.port}` : `exec ${h.exec!.command.join(' ')}`;
  return `${probe} every ${h.intervalSeconds}s, unhealthy after ${h.failureThreshold} failures`;
}

/** An instance's measured CPU and memory ("<unknown>" when its agent did not answer), by instance name. */
export type InstanceUsage = ReadonlyMap<string, { cpu: string; memory: string }>;

export function usageByInstance(stats: WorkloadStats | undefined): InstanceUsage {
  return new Map(
    (stats?.items ?? []).map((item) => [item.instance, 'cpuCores' in item ? { cpu: cpuText(item.cpuCores), memory: memoryText(item.memoryBytes) } : { cpu: '<unknown>', memory: '<unknown>' }]),
  );
}

export function describeWorkload(w: ServedWorkload, instances: readonly Instance[], related: readonly ServedEvent[], usage: InstanceUsage = new Map(), now = Date.now()): string {
  const s = w.status;
  const spec = w.spec;
  const head = fields([
    ...metadata(w, now),
    ['Generation', `${w.metadata.generation ?? 1} (observed ${s?.observedGeneration ?? 0})`],
    ['Status', `${workloadStatus(w)}: ${s?.readyReplicas ?? 0}/${spec.replicas} ready, ${s?.updatedReplicas ?? 0} updated, ${s?.replicas ?? 0} live`],
    ['Runtime', runtime(spec)],
    ['Replicas', String(spec.replicas)],
    ['Ports', spec.ports?.length ? spec.ports.map((p) => `${p.name ?? p.containerPort} ${p.containerPort}/${p.protocol} (expose ${p.expose})`).join(', ') : none],
    ['Env', env(spec)],
    ['Resources', spec.resources ? `cpu ${spec.resources.cpu ?? none}, memory ${spec.resources.memory ?? none}` : none],
    ['Restart policy', spec.restartPolicy],
    ['Health check', healthCheck(spec)],
    ['Agent selector', map(spec.placement?.agentSelector)],
    ['Volumes', spec.volumes?.length ? spec.volumes.map((v) => `${v.name} at ${v.mountPath}`).join(', ') : none],
    ['Restarted at', spec.restartedAt],
  ]);
  const instanceRows = [...instances]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((i) => [
      i.metadata.name,
      i.spec.agent ?? none,
      i.metadata.deletionTimestamp ? 'Terminating' : (i.status?.state ?? 'Pending'),
      i.status?.health ?? 'Unknown',
      String(i.status?.restarts ?? 0),
      usage.get(i.metadata.name)?.cpu ?? none,
      usage.get(i.metadata.name)?.memory ?? none,
      age(i.metadata.creationTimestamp, now),
      i.status?.message ?? '',
    ]);
  const endpointRows = (s?.endpoints ?? []).map((e) => [String(e.port), e.url, e.agent ?? '']);
  return [
    head,
    conditions(s?.conditions),
    section('Instances', ['NAME', 'AGENT', 'STATE', 'HEALTH', 'RESTARTS', 'CPU', 'MEMORY', 'AGE', 'MESSAGE'], instanceRows),
    section('Endpoints', ['PORT', 'URL', 'AGENT'], endpointRows),
    events(related, now),
  ].join('\n');
}

export function describeInstance(i: Instance, related: readonly ServedEvent[], usage: InstanceUsage = new Map(), now = Date.now()): string {
  const s = i.status;
  const head = fields([
    ...metadata(i, now),
    ['Workload', i.spec.workload],
    ['Agent', i.spec.agent ?? `${none} (not scheduled)`],
    ['State', s?.state ?? 'Pending'],
    ['Health', s?.health ?? 'Unknown'],
    ['Restarts', String(s?.restarts ?? 0)],
    ['CPU', usage.get(i.metadata.name)?.cpu],
    ['Memory', usage.get(i.metadata.name)?.memory],
    ['Exit code', s?.exitCode === undefined ? undefined : String(s.exitCode)],
    ['Started', when(s?.startedAt, now)],
    ['Message', s?.message],
    ['Template hash', i.spec.templateHash],
    ['Runtime', runtime(i.spec.template)],
  ]);
  const endpointRows = (s?.endpoints ?? []).map((e) => [String(e.port), e.url]);
  return [head, conditions(s?.conditions), section('Endpoints', ['PORT', 'URL'], endpointRows), events(related, now)].join('\n');
}

export function describeAgent(a: Agent, instances: readonly Instance[], now = Date.now()): string {
  const s = a.status;
  const head = fields([
    ['Name', a.metadata.name],
    ['Labels', map(a.metadata.labels)],
    ['Created', when(a.metadata.creationTimestamp, now)],
    ['Owner', a.spec.owner ? `${a.spec.owner} (private agent)` : '<shared>'],
    ['Status', `${isReadyCondition(a) ? 'Ready' : 'NotReady'}${a.spec.unschedulable ? ', SchedulingDisabled' : ''}`],
    ['Last heartbeat', when(s?.lastHeartbeatTime, now)],
    ['Address', s?.address],
    ['Version', s?.version],
    ['Runtimes', s?.runtimes?.join(', ') || none],
    ['Capacity', s?.capacity ? `cpu ${s.capacity.cpu ?? none}, memory ${readableMemory(s.capacity.memory)}` : none],
    ['Allocatable', s?.allocatable ? `cpu ${s.allocatable.cpu ?? none}, memory ${readableMemory(s.allocatable.memory)}` : none],
  ]);
  const rows = [...instances]
    .sort((x, y) => `${x.metadata.namespace}/${x.metadata.name}`.localeCompare(`${y.metadata.namespace}/${y.metadata.name}`))
    .map((i) => [i.metadata.namespace ?? '', i.metadata.name, i.spec.workload, i.status?.state ?? 'Pending', String(i.status?.restarts ?? 0), age(i.metadata.creationTimestamp, now)]);
  return [head, conditions(s?.conditions), section('Instances (in your namespaces)', ['NAMESPACE', 'NAME', 'WORKLOAD', 'STATE', 'RESTARTS', 'AGE'], rows)].join('\n');
}

export function describeSecret(secret: ServedSecret, related: readonly ServedEvent[], now = Date.now()): string {
  const keys = Object.keys(secret.spec.data ?? {}).sort();
  const generated = Object.entries(secret.spec.generate ?? {}).map(([k, g]) => `${k} (${g.length} characters, generated)`);
  return [fields([...metadata(secret, now), ['Keys', [...keys.filter((k) => !secret.spec.generate?.[k]), ...generated].join(', ') || none], ['Values', 'not shown; `lattice get secret NAME -o yaml --show-secrets` shows them']]), events(related, now)].join('\n');
}

export function describeEvent(e: ServedEvent, now = Date.now()): string {
  return fields([
    ...metadata(e, now),
    ['Object', `${e.spec.involvedObject.kind.toLowerCase()}/${e.spec.involvedObject.name}`],
    ['Type', e.spec.type],
    ['Reason', e.spec.reason],
    ['Message', e.spec.message ?? ''],
    ['Count', String(e.spec.count)],
    ['First seen', when(e.spec.firstTimestamp, now)],
    ['Last seen', when(e.spec.lastTimestamp, now)],
  ]);
}
