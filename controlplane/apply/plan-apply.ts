// What applying one manifest does to the live object: pure, so dry runs and real applies agree
// and the rules are table-tested.
import { isDeepStrictEqual } from 'node:util';
import type { ApplyResultItem, FieldChange } from '../../schemas/types.gen.ts';
import type { StoredObject } from '../../store/types.ts';
import { REDACTED } from '../access.ts';
import { diffValues } from './object-diff.ts';

export interface PlannedObject {
  action: Exclude<ApplyResultItem['action'], 'pruned'>;
  /** What to write: the manifest's spec, labels and annotations over the live object. */
  object: StoredObject;
  diff: FieldChange[];
}

/** The fields apply owns: everything else (status, server metadata, finalizers) stays live. */
function appliedFields(object: StoredObject | undefined): { metadata: { labels?: unknown; annotations?: unknown }; spec?: unknown } {
  if (!object) return { metadata: {} };
  const { labels, annotations } = object.metadata;
  return { metadata: { labels: emptyToUndefined(labels), annotations: emptyToUndefined(annotations) }, spec: object.spec };
}

/**
 * desired is a validated, defaulted manifest with its namespace resolved. The result keeps the
 * live object's finalizers (controllers own them), so an apply never drops one.
 */
export function planApply(manifest: StoredObject, live: StoredObject | undefined): PlannedObject {
  const desired = keepRestartMarker(manifest, live);
  const before = appliedFields(live);
  const after = appliedFields(desired);
  const diff = desired.kind === 'Secret' ? diffValues(...redactedPair(live, desired)) : diffValues(before, after);
  const object: StoredObject = {
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: {
      name: desired.metadata.name,
      ...(desired.metadata.namespace ? { namespace: desired.metadata.namespace } : {}),
      ...(desired.metadata.labels ? { labels: desired.metadata.labels } : {}),
      ...(desired.metadata.annotations ? { annotations: desired.metadata.annotations } : {}),
      ...(live?.metadata.finalizers ? { finalizers: live.metadata.finalizers } : {}),
    },
    spec: desired.spec,
  };
  if (!live) return { action: 'created', object, diff };
  return { action: isDeepStrictEqual(before, after) ? 'unchanged' : 'configured', object, diff };
}

/**
 * `lattice rollout restart` writes spec.restartedAt; manifests do not carry it. Keeping the live
 * value when a manifest leaves it out means a re-apply (or a GitOps sync) neither undoes the
 * restart nor rolls the instances a second time.
 */
function keepRestartMarker(manifest: StoredObject, live: StoredObject | undefined): StoredObject {
  if (manifest.kind !== 'Workload' || live?.kind !== 'Workload') return manifest;
  const restartedAt = (live.spec as { restartedAt?: string } | undefined)?.restartedAt;
  const spec = manifest.spec as { restartedAt?: string } | undefined;
  if (restartedAt === undefined || spec === undefined || spec.restartedAt !== undefined) return manifest;
  return { ...manifest, spec: { ...spec, restartedAt } };
}

/**
 * Secret data for a diff: which keys were added, removed or changed, never a value. A changed
 * value shows as a change between two placeholders.
 */
function redactedPair(live: StoredObject | undefined, desired: StoredObject): [unknown, unknown] {
  const liveData = (live?.spec as { data?: Record<string, string> } | undefined)?.data;
  const desiredData = (desired.spec as { data?: Record<string, string> } | undefined)?.data;
  const mask = (object: StoredObject | undefined, data: Record<string, string> | undefined, other: Record<string, string> | undefined, changedMark: string) => {
    const fields = appliedFields(object);
    if (!object || !data) return fields;
    const masked = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, other?.[k] === undefined || other[k] === v ? REDACTED : changedMark]));
    return { ...fields, spec: { ...(fields.spec as object), data: masked } };
  };
  return [mask(live, liveData, desiredData, REDACTED), mask(desired, desiredData, liveData, `${REDACTED} (changed)`)];
}

function emptyToUndefined(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? map : undefined;
}
