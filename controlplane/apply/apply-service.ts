// Server-side apply: validate everything first, then write everything in one transaction.
import { KINDS, isKindName } from '../../schemas/kinds.ts';
import { validate } from '../../schemas/validate.ts';
import type { ObjectKey, ObjectStore, StoreTransaction, StoredObject } from '../../store/types.ts';
import { canUseNamespace, defaultNamespace, type Principal } from '../auth/principal.ts';
import { writeRefusal } from '../access.ts';
import { ApiError, forbidden, invalid } from '../errors.ts';
import { recordEvent } from '../../reconciler/events.ts';
import { WORKLOAD_FINALIZER } from '../../schemas/labels-and-finalizers.ts';
import { planApply } from './plan-apply.ts';
import { planPlacement } from './plan-placement.ts';
import type { ApplyResult, ApplyResultItem, FieldError, Instance, ResourceList, Secret, ServedAgent, ServedWorkload } from '../../schemas/types.gen.ts';
import { withSecretValues } from './secret-values.ts';
import type { NamespaceUsage, UsageChange, UsageReservation } from '../namespace-usage.ts';

export interface ApplyOptions {
  dryRun: boolean;
  /** Refuse (409) if any object this apply touches changed after this revision. */
  ifRevision?: number;
  /** Remember what was applied under this name (per user), for pruning. */
  applySet?: string;
  /** Delete what the apply set held last time and this apply no longer names. */
  prune: boolean;
  /**
   * Create Workloads with the finalizer of the workload controller, which this server runs and
   * which otherwise adds it as its first write. Without a reconciler nothing would remove it.
   */
  workloadFinalizer?: boolean;
  /** A dry run's placement preview uses the scheduler's default requests and per-user share of shared agents. */
  requests?: { defaults?: ResourceList; sharedPerUser?: ResourceList };
  /** Admits what the apply adds against the user's limits (absent: no limits). */
  usage?: NamespaceUsage;
}

interface Desired {
  object: StoredObject;
  /** metadata.resourceVersion from the manifest: a per-object precondition. */
  resourceVersion?: string;
}

const APPLY_SET_KIND = 'ApplySet';

/** What one apply did: per-object results and what its writes stored. */
class Ledger {
  readonly results: ApplyResultItem[] = [];
  /** Dry runs: the Workloads that would change, to preview their placement. */
  readonly changedWorkloads: { item: ApplyResultItem; object: StoredObject }[] = [];
  readonly written: StoredObject[] = [];

  wrote(object: StoredObject): void {
    this.written.push(object);
  }
}

class DryRunRollback extends Error {
  constructor(readonly ledger: Ledger) {
    super('dry run');
  }
}

export async function applyManifests(store: ObjectStore, principal: Principal, manifests: unknown[], options: ApplyOptions, now: () => Date): Promise<ApplyResult> {
  if (options.prune && !options.applySet) throw new ApiError('BadRequest', 'prune needs an applySet: ?applySet=NAME&prune=true', [{ path: 'applySet', message: 'is required with prune' }]);
  // An empty set with prune is how a GitOps directory that lost its last file empties the set.
  const desired = manifests.length === 0 && options.prune ? [] : prepare(principal, manifests);
  let ledger: Ledger;
  let reservation: UsageReservation | undefined;
  try {
    ledger = await store.transact(async (tx) => {
      const inTransaction = new Ledger();
      const changes = await applyAll(tx, desired, options, inTransaction);
      if (options.usage) reservation = options.usage.admit(principal, changes);
      if (options.applySet) await updateApplySet(tx, principal, options, desired, now(), inTransaction);
      if (options.dryRun) throw new DryRunRollback(inTransaction);
      return inTransaction;
    });
    reservation?.committed(ledger.written);
  } catch (error) {
    reservation?.released();
    if (!(error instanceof DryRunRollback)) throw error;
    ledger = error.ledger;
  }
  if (ledger.changedWorkloads.length > 0) await previewPlacements(store, ledger.changedWorkloads, options.requests ?? {});
  const revision = ledger.written.length > 0 ? Math.max(...ledger.written.map((o) => Number(o.metadata.resourceVersion))) : await store.currentRevision();
  return { revision, dryRun: options.dryRun, results: ledger.results };
}

/** Validation, defaulting, scope and permission checks: all before anything is written. */
function prepare(principal: Principal, manifests: unknown[]): Desired[] {
  if (manifests.length === 0) throw new ApiError('BadRequest', 'nothing to apply: the body holds no objects');
  const errors: FieldError[] = [];
  const desired: Desired[] = [];
  const seen = new Map<string, number>();
  manifests.forEach((manifest, i) => {
    const at = manifests.length > 1 ? `[${i}]` : '';
    const result = validate(manifest);
    if (!result.ok) {
      errors.push(...result.errors.map((e) => ({ path: e.path ? `${at}${at ? '.' : ''}${e.path}` : at, message: e.message })));
      return;
    }
    const object = result.value as StoredObject;
    const refusal = writeRefusal(principal, object.kind);
    if (refusal) throw forbidden(`${at ? `${at} ` : ''}${object.kind} ${object.metadata.name}: ${refusal}`);
    if (isKindName(object.kind) && KINDS[object.kind].namespaced) {
      const namespace = object.metadata.namespace ?? defaultNamespace(principal);
      if (!namespace) throw forbidden('you belong to no namespace; set metadata.namespace');
      if (!canUseNamespace(principal, namespace)) throw forbidden(`${object.kind} ${object.metadata.name}: you may not write to namespace ${JSON.stringify(namespace)}`);
      object.metadata.namespace = namespace;
    }
    const id = `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const previous = seen.get(id);
    if (previous !== undefined) {
      errors.push({ path: at, message: `${object.kind} ${object.metadata.name} appears twice in this apply (also at [${previous}])` });
      return;
    }
    seen.set(id, i);
    desired.push({ object: withoutServerFields(object), resourceVersion: object.metadata.resourceVersion });
  });
  if (errors.length > 0) throw invalid(errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; '), errors);
  return desired;
}

function withoutServerFields(object: StoredObject): StoredObject {
  const { name, namespace, labels, annotations } = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    spec: object.spec,
  };
}

/** One write fewer for every Workload: see ApplyOptions.workloadFinalizer. */
function withWorkloadFinalizer(object: StoredObject): StoredObject {
  if (object.kind !== 'Workload' || object.metadata.finalizers?.includes(WORKLOAD_FINALIZER)) return object;
  return { ...object, metadata: { ...object.metadata, finalizers: [...(object.metadata.finalizers ?? []), WORKLOAD_FINALIZER] } };
}

/** Writes (or, in a dry run, plans) every object; returns what changes, for the user's limits. */
async function applyAll(tx: StoreTransaction, desired: Desired[], options: ApplyOptions, ledger: Ledger): Promise<UsageChange[]> {
  const changes: UsageChange[] = [];
  for (const { object, resourceVersion } of desired) {
    const key = keyOf(object);
    const live = await tx.find(key);
    checkMoved(live, key, options.ifRevision, resourceVersion);
    const plan = planApply(withSecretValues(object, live), live);
    const item: ApplyResultItem = { apiVersion: object.apiVersion, kind: object.kind, ...nameOf(key), action: plan.action };
    if (plan.action !== 'unchanged') changes.push({ live, next: plan.object });
    if (options.dryRun) item.diff = plan.diff;
    if (options.dryRun && plan.action !== 'unchanged' && object.kind === 'Workload') ledger.changedWorkloads.push({ item, object: plan.object });
    if (!options.dryRun && plan.action === 'created') ledger.wrote(await tx.create(options.workloadFinalizer ? withWorkloadFinalizer(plan.object) : plan.object));
    if (!options.dryRun && plan.action === 'configured') {
      ledger.wrote(await tx.update({ ...plan.object, metadata: { ...plan.object.metadata, resourceVersion: live!.metadata.resourceVersion } }));
    }
    ledger.results.push(item);
  }
  return changes;
}

function checkMoved(live: StoredObject | undefined, key: ObjectKey, ifRevision: number | undefined, resourceVersion: string | undefined): void {
  const what = `${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;
  if (resourceVersion !== undefined && live?.metadata.resourceVersion !== resourceVersion) {
    throw new ApiError('Conflict', `${what} is at resourceVersion ${live?.metadata.resourceVersion ?? '(absent)'}, not ${resourceVersion} as the manifest requires`);
  }
  if (ifRevision !== undefined && live && Number(live.metadata.resourceVersion) > ifRevision) {
    throw new ApiError('Conflict', `${what} changed at revision ${live.metadata.resourceVersion}, after ifRevision=${ifRevision}`);
  }
}

/**
 * Prune by inventory: the set remembers exactly what was applied under its name, so only those
 * objects can ever be pruned, whatever labels other objects carry.
 */
async function updateApplySet(tx: StoreTransaction, principal: Principal, options: ApplyOptions, desired: Desired[], now: Date, ledger: Ledger): Promise<void> {
  const setKey = { kind: APPLY_SET_KIND, name: `${principal.username}.${options.applySet}` };
  const inventorySet = await tx.find(setKey);
  const previous = ((inventorySet?.spec as { entries?: ObjectKey[] } | undefined)?.entries ?? []).filter((k) => !k.namespace || canUseNamespace(principal, k.namespace));
  const current = desired.map(({ object }) => keyOf(object));
  const currentIds = new Set(current.map(idOf));
  const leftOut = previous.filter((k) => !currentIds.has(idOf(k)));
  if (options.prune) {
    for (const key of leftOut) {
      const live = await tx.find(key);
      if (!live) continue;
      checkMoved(live, key, options.ifRevision, undefined);
      ledger.results.push({ apiVersion: live.apiVersion, kind: key.kind, ...nameOf(key), action: 'pruned' });
      if (!options.dryRun) {
        ledger.wrote((await tx.delete(key)).object);
        const event = await recordEvent(tx, live, 'Pruned', `pruned by apply set ${options.applySet}: no longer in its manifests`, now);
        if (event) ledger.wrote(event);
      }
    }
  }
  const spec = { entries: options.prune ? current : [...current, ...leftOut] };
  if (options.dryRun) return;
  ledger.wrote(inventorySet ? await tx.update({ ...inventorySet, spec }) : await tx.create({ apiVersion: 'lattice/v1', kind: APPLY_SET_KIND, metadata: setKey, spec }));
}

/** After the dry run's transaction: agents and instances as they are now. */
async function previewPlacements(store: ObjectStore, changed: { item: ApplyResultItem; object: StoredObject }[], requests: { defaults?: ResourceList; sharedPerUser?: ResourceList }): Promise<void> {
  const namespaces = [...new Set(changed.map(({ object }) => object.metadata.namespace!))];
  const [agents, instances, secrets] = await Promise.all([store.list({ kind: 'Agent' }), store.list({ kind: 'Instance' }), store.list({ kind: 'Secret', namespace: namespaces })]);
  for (const { item, object } of changed) item.placement = planPlacement(object as ServedWorkload, instances.items as Instance[], agents.items as ServedAgent[], secrets.items as Secret[], requests);
}

function keyOf(object: StoredObject): ObjectKey {
  return { kind: object.kind, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), name: object.metadata.name };
}

function nameOf(key: ObjectKey): { namespace?: string; name: string } {
  return { ...(key.namespace ? { namespace: key.namespace } : {}), name: key.name };
}

function idOf(key: ObjectKey): string {
  return `${key.kind}/${key.namespace ?? ''}/${key.name}`;
}
