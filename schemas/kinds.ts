// The kinds the API serves: their URL plural and whether they live in a namespace.
export interface KindInfo {
  kind: KindName;
  plural: string;
  namespaced: boolean;
}

export type KindName = 'Workload' | 'Instance' | 'Agent' | 'Secret' | 'Event';

export const API_VERSION = 'lattice/v1';

export const KINDS: Readonly<Record<KindName, KindInfo>> = {
  Workload: { kind: 'Workload', plural: 'workloads', namespaced: true },
  Instance: { kind: 'Instance', plural: 'instances', namespaced: true },
  Agent: { kind: 'Agent', plural: 'agents', namespaced: false },
  Secret: { kind: 'Secret', plural: 'secrets', namespaced: true },
  Event: { kind: 'Event', plural: 'events', namespaced: true },
};

export function isKindName(kind: unknown): kind is KindName {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

export function kindByPlural(plural: string): KindInfo | undefined {
  return Object.values(KINDS).find((info) => info.plural === plural);
}
