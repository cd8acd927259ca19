// Shapes of API answers, as the client sees them.
import type { LatticeObject } from '../schemas/types.gen.ts';

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

export interface ApplyResult {
  revision: number;
  dryRun: boolean;
  results: { apiVersion: string; kind: string; namespace?: string; name: string; action: 'created' | 'configured' | 'unchanged' | 'pruned'; diff?: FieldChange[] }[];
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
  items: ({ instance: string; agent: string } & ({ cpuCores: number; memoryBytes: number } | { error: string }))[];
}
