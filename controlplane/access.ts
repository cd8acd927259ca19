// Who may see and change what, and how objects are shown: the one place these rules live.
import { KINDS, isKindName } from '../schemas/kinds.ts';
import type { StoredObject } from '../store/types.ts';
import { canUseNamespace, type Principal } from './auth/principal.ts';

export const REDACTED = '<redacted>';

/** Kinds a user writes; the others are written by the control plane and agents. */
const USER_WRITABLE = new Set(['Workload', 'Secret']);

export function canRead(principal: Principal, object: StoredObject): boolean {
  if (!isKindName(object.kind)) return false; // internal bookkeeping (apply-set inventories)
  if (KINDS[object.kind].namespaced) return object.metadata.namespace !== undefined && canUseNamespace(principal, object.metadata.namespace);
  if (principal.role === 'admin') return true;
  const owner = (object.spec as { owner?: string } | undefined)?.owner;
  return owner === undefined || owner === principal.username;
}

/** Why principal may not write this kind, or undefined when it may. */
export function writeRefusal(principal: Principal, kind: string): string | undefined {
  if (USER_WRITABLE.has(kind)) return undefined;
  if (kind === 'Agent') return principal.role === 'admin' ? undefined : 'Agents are created by joining with a join token; only an admin may change them';
  return `${kind}s are written by the control plane, not by users`;
}

/** Secret values are shown only when asked for explicitly; everything else as stored. */
export function present(object: StoredObject, options: { showSecrets?: boolean } = {}): StoredObject {
  if (object.kind !== 'Secret' || options.showSecrets) return object;
  return redactSecret(object);
}

export function redactSecret(object: StoredObject): StoredObject {
  const spec = object.spec as { data?: Record<string, string> } | undefined;
  if (!spec?.data) return object;
  return { ...object, spec: { ...spec, data: Object.fromEntries(Object.keys(spec.data).map((k) => [k, REDACTED])) } };
}
