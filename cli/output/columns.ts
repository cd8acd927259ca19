// The columns `lattice get` prints per kind (and the extra ones of -o wide).
import type { Agent, Instance, LatticeObject, Secret, ServedEvent, ServedLatticeObject, ServedWorkload, Workload } from '../../schemas/types.gen.ts';
import type { KindName } from '../../schemas/kinds.ts';
import { formatMemory, parseMemory } from '../../schemas/quantity.ts';
import { isReadyCondition } from '../../schemas/conditions.ts';
import { age } from '../duration.ts';
import type { Row } from './table.ts';

/** What a row may need besides the object itself. */
export interface RowContext {
  /** Restarts summed over a workload's instances, by "namespace/name". */
  restarts: ReadonlyMap<string, number>;
  now: number;
}

interface Columns<T> {
  header: Row;
  wide: Row;
  row(object: T, context: RowContext): Row;
  wideRow(object: T, context: RowContext): Row;
}

const none = '<none>';

export function workloadStatus(w: Workload): string {
  return w.metadata.deletionTimestamp ? 'Terminating' : (w.status?.phase ?? 'Pending');
}

export function commandLine(spec: { image?: string; command?: string[]; args?: string[] }): string {
  if (spec.image) return spec.image;
  return [...(spec.command ?? []), ...(spec.args ?? [])].join(' ');
}

/** Agents report memory in bytes; people read 23.5Gi. */
export function readableMemory(quantity: string | undefined): string {
  if (quantity === undefined) return none;
  try {
    return formatMemory(parseMemory(quantity));
  } catch {
    return quantity;
  }
}

function truncate(text: string, max = 60): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 3)}...`;
}

function endpoints(list: { port: string | number; url: string }[] | undefined): string {
  return list && list.length > 0 ? list.map((e) => e.url).join(',') : none;
}

const workloads: Columns<ServedWorkload> = {
  header: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
  wide: ['ENDPOINTS', 'IMAGE/COMMAND'],
  row: (w, c) => [
    w.metadata.name,
    `${w.status?.readyReplicas ?? 0}/${w.spec.replicas}`,
    workloadStatus(w),
    String(c.restarts.get(`${w.metadata.namespace}/${w.metadata.name}`) ?? 0),
    age(w.metadata.creationTimestamp, c.now),
  ],
  wideRow: (w) => [endpoints(w.status?.endpoints), truncate(commandLine(w.spec))],
};

const instances: Columns<Instance> = {
  header: ['NAME', 'WORKLOAD', 'AGENT', 'STATE', 'RESTARTS', 'AGE'],
  wide: ['HEALTH', 'ENDPOINTS', 'MESSAGE'],
  row: (i, c) => [
    i.metadata.name,
    i.spec.workload,
    i.spec.agent ?? none,
    i.metadata.deletionTimestamp ? 'Terminating' : (i.status?.state ?? 'Pending'),
    String(i.status?.restarts ?? 0),
    age(i.metadata.creationTimestamp, c.now),
  ],
  wideRow: (i) => [i.status?.health ?? 'Unknown', endpoints(i.status?.endpoints), truncate(i.status?.message ?? '')],
};

const agents: Columns<Agent> = {
  header: ['NAME', 'STATUS', 'RUNTIMES', 'AGE', 'VERSION'],
  wide: ['ADDRESS', 'CPU', 'MEMORY', 'OWNER', 'LABELS'],
  row: (a, c) => [
    a.metadata.name,
    `${isReadyCondition(a) ? 'Ready' : 'NotReady'}${a.spec.unschedulable ? ',SchedulingDisabled' : ''}`,
    a.status?.runtimes?.join(',') || none,
    age(a.metadata.creationTimestamp, c.now),
    a.status?.version ?? none,
  ],
  wideRow: (a) => [
    a.status?.address ?? none,
    a.status?.allocatable?.cpu ?? none,
    readableMemory(a.status?.allocatable?.memory),
    a.spec.owner ?? '<shared>',
    Object.entries(a.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || none,
  ],
};

function secretKeys(s: Secret): string[] {
  return [...new Set([...Object.keys(s.spec.data ?? {}), ...Object.keys(s.spec.generate ?? {})])].sort();
}

const secrets: Columns<Secret> = {
  header: ['NAME', 'KEYS', 'AGE'],
  wide: ['KEY NAMES'],
  row: (s, c) => [s.metadata.name, String(secretKeys(s).length), age(s.metadata.creationTimestamp, c.now)],
  wideRow: (s) => [secretKeys(s).join(',') || none],
};

const events: Columns<ServedEvent> = {
  header: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
  wide: ['COUNT', 'FIRST SEEN'],
  row: (e, c) => [
    age(e.spec.lastTimestamp ?? e.metadata.creationTimestamp, c.now),
    e.spec.type,
    e.spec.reason,
    `${e.spec.involvedObject.kind.toLowerCase()}/${e.spec.involvedObject.name}`,
    e.spec.message ?? '',
  ],
  wideRow: (e, c) => [String(e.spec.count), age(e.spec.firstTimestamp ?? e.metadata.creationTimestamp, c.now)],
};

const BY_KIND: Record<KindName, Columns<never>> = { Workload: workloads, Instance: instances, Agent: agents, Secret: secrets, Event: events } as Record<KindName, Columns<never>>;

export interface TablePrinter {
  header: Row;
  row(object: ServedLatticeObject, context: RowContext): Row;
}

/** The message column of events goes last even in wide output: it is the long one. */
export function tablePrinter(kind: KindName, options: { wide: boolean; namespaced: boolean }): TablePrinter {
  const columns = BY_KIND[kind] as unknown as Columns<ServedLatticeObject>;
  const last = kind === 'Event' ? 1 : 0;
  const base = (cells: Row) => (last ? cells.slice(0, -last) : cells);
  const tail = (cells: Row) => (last ? cells.slice(-last) : []);
  return {
    header: [...(options.namespaced ? ['NAMESPACE'] : []), ...base(columns.header), ...(options.wide ? columns.wide : []), ...tail(columns.header)],
    row(object, context) {
      const cells = columns.row(object, context);
      return [...(options.namespaced ? [object.metadata.namespace ?? ''] : []), ...base(cells), ...(options.wide ? columns.wideRow(object, context) : []), ...tail(cells)];
    },
  };
}
