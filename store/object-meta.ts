// Which metadata belongs to the caller and which to the server, and the canonical form
// objects are stored in (empty maps and lists omitted, keys in a stable order).
import { isDeepStrictEqual } from 'node:util';
import type { ObjectMeta } from '../schemas/types.gen.ts';
import { InvalidError } from './errors.ts';
import type { ObjectKey, StoredObject } from './types.ts';

export type UserMeta = Pick<ObjectMeta, 'name' | 'namespace' | 'labels' | 'annotations' | 'finalizers'>;
export type ServerMeta = Required<Pick<ObjectMeta, 'uid' | 'resourceVersion' | 'generation' | 'creationTimestamp'>> &
  Pick<ObjectMeta, 'deletionTimestamp'>;

export function keyOf(object: StoredObject): ObjectKey {
  const { kind, metadata } = object ?? {};
  const errors = [];
  if (typeof kind !== 'string' || kind === '') errors.push({ path: 'kind', message: 'is required' });
  if (typeof metadata?.name !== 'string' || metadata.name === '') errors.push({ path: 'metadata.name', message: 'is required' });
  if (metadata?.namespace !== undefined && typeof metadata.namespace !== 'string')
    errors.push({ path: 'metadata.namespace', message: 'must be a string' });
  if (errors.length > 0) throw new InvalidError(errors);
  return { kind, namespace: metadata.namespace || undefined, name: metadata.name };
}

export function describeKey({ kind, namespace, name }: ObjectKey): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

export function userMeta(metadata: ObjectMeta): UserMeta {
  return {
    name: metadata.name,
    namespace: metadata.namespace || undefined,
    labels: nonEmptyMap(metadata.labels),
    annotations: nonEmptyMap(metadata.annotations),
    finalizers: metadata.finalizers && metadata.finalizers.length > 0 ? [...metadata.finalizers] : undefined,
  };
}

export function buildMeta(user: UserMeta, server: ServerMeta): ObjectMeta {
  const meta: ObjectMeta = { name: user.name };
  if (user.namespace) meta.namespace = user.namespace;
  meta.uid = server.uid;
  meta.resourceVersion = server.resourceVersion;
  meta.generation = server.generation;
  meta.creationTimestamp = server.creationTimestamp;
  if (server.deletionTimestamp) meta.deletionTimestamp = server.deletionTimestamp;
  if (user.labels) meta.labels = user.labels;
  if (user.annotations) meta.annotations = user.annotations;
  if (user.finalizers) meta.finalizers = user.finalizers;
  return meta;
}

/**
 * An object in its stored shape: keys in this order, spec and status only when set. One literal
 * per shape, so that V8 gives every object of a shape one hidden class. (Objects the store hands
 * out live on in the caches; a spread of one whose keys were added one by one gets a hidden class
 * of its own, which adds up in the caches: README, "Why the code is as it is".)
 */
export function storedObject(apiVersion: string, kind: string, metadata: ObjectMeta, spec: unknown, status: unknown): StoredObject {
  if (spec === undefined) return status === undefined ? { apiVersion, kind, metadata } : { apiVersion, kind, metadata, status };
  return status === undefined ? { apiVersion, kind, metadata, spec } : { apiVersion, kind, metadata, spec, status };
}

export function serverMeta(metadata: ObjectMeta): ServerMeta {
  return {
    uid: metadata.uid!,
    resourceVersion: metadata.resourceVersion!,
    generation: metadata.generation!,
    creationTimestamp: metadata.creationTimestamp!,
    deletionTimestamp: metadata.deletionTimestamp,
  };
}

export function sameUserMeta(a: UserMeta, b: UserMeta): boolean {
  return isDeepStrictEqual(a.labels ?? {}, b.labels ?? {}) && isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}) && isDeepStrictEqual(a.finalizers ?? [], b.finalizers ?? []);
}

function nonEmptyMap(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? { ...map } : undefined;
}
