// Shapes of API answers, as the client sees them.
import type { InstanceStats, LatticeObject } from '../schemas/types.gen.ts';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface WhoAmI {
  username: string;
  role: 'admin' | 'user';
  namespaces: string[];
}

export interface FieldChange {
  path: string;
  op: 'add' | 'remove' | 'replace';
  before?: unknown;
  after?: unknown;
}

/** A dry run's preview of a Workload once rolled out: per agent, and what no agent can take. */
export interface PlacementPlan {
  agents: { agent: string; keep: number; deploy: number; stop: { instance: string; reason: 'Replaced' | 'ScaledDown' }[] }[];
  pending: { replicas: number; reason: string }[];
}

export interface ApplyResultItem {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged' | 'pruned';
  diff?: FieldChange[];
  placement?: PlacementPlan;
}

export interface ApplyResult {
  revision: number;
  dryRun: boolean;
  results: ApplyResultItem[];
}

export interface SpecRevision {
  generation: number;
  revision: number;
  spec: unknown;
  createdAt: string;
}

export interface JoinToken {
  id: string;
  createdAt: string;
  expiresAt: string;
  scope: 'shared' | 'private';
}

export interface JoinTokenCreated {
  token: string;
  expiresAt: string;
  scope: 'shared' | 'private';
}

export interface ObjectList<T = LatticeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: T[];
}

export type WatchMessage =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: LatticeObject }
  | { type: 'BOOKMARK'; object: { kind: string; apiVersion: string; metadata: { resourceVersion: string } } }
  | { type: 'ERROR'; object: { code: number; reason: string; message: string } };

/** GET …/workloads/:name/stats: one item per instance placed on an agent. */
export interface WorkloadStats {
  /** series: the agent's readings over the last ~15 minutes, oldest first (DESIGN §8's charts). */
  items: ({ instance: string; agent: string } & (InstanceStats | { error: string }))[];
}
