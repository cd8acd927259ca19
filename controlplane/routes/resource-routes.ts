// Reading and changing single objects and collections, scoped to the caller's namespaces.
import type { FastifyInstance } from 'fastify';
import { KINDS, kindByPlural, type KindInfo } from '../../schemas/kinds.ts';
import { formatFieldErrors, validate } from '../../schemas/validate.ts';
import type { StoredObject } from '../../store/types.ts';
import { canUseNamespace, type Principal } from '../auth/principal.ts';
import { canRead, present, writeRefusal } from '../access.ts';
import { planApply } from '../apply/plan-apply.ts';
import { withSecretValues } from '../apply/secret-values.ts';
import { ApiError, badRequest, forbidden, invalid, notFound, parseParam } from '../errors.ts';
import { parseLabelSelector } from '../../store/label-selector.ts';
import { recordEvent } from '../../reconciler/events.ts';
import type { UsageReservation } from '../namespace-usage.ts';

const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 } as const;
const plural = { type: 'string', pattern: '^[a-z]+$', maxLength: 32 } as const;
const objectParams = { type: 'object', properties: { namespace: dnsLabel, plural, name: { type: 'string', maxLength: 253 } } } as const;
const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { labelSelector: { type: 'string', maxLength: 4096 }, fieldSelector: { type: 'string', maxLength: 1024 } },
} as const;

function namespacedKind(pluralName: string): KindInfo {
  const info = kindByPlural(pluralName);
  if (!info) throw notFound(`unknown resource type ${JSON.stringify(pluralName)}; one of ${Object.values(KINDS).map((k) => k.plural).join(', ')}`);
  if (!info.namespaced) throw notFound(`${info.plural} are cluster-scoped: use /api/v1/${info.plural}`);
  return info;
}

function checkNamespace(principal: Principal, namespace: string): void {
  if (!canUseNamespace(principal, namespace)) throw forbidden(`you have no access to namespace ${JSON.stringify(namespace)}`);
}

// Events answer `fieldSelector=involvedObject.kind=Workload,involvedObject.name=web`.
function eventFilter(fieldSelector: string | undefined): (object: StoredObject) => boolean {
  if (!fieldSelector) return () => true;
  const wanted = fieldSelector.split(',').map((part) => {
    const match = /^involvedObject\.(kind|name|uid)=(.*)$/.exec(part.trim());
    if (!match) throw badRequest(`fieldSelector: ${JSON.stringify(part)} is not supported; use involvedObject.kind=, involvedObject.name= or involvedObject.uid=`);
    return [match[1] as 'kind' | 'name' | 'uid', match[2]] as const;
  });
  return (object) => {
    const involved = (object.spec as { involvedObject?: Record<string, string> } | undefined)?.involvedObject ?? {};
    return wanted.every(([field, value]) => involved[field] === value);
  };
}

function listBody(kind: string, revision: number, items: StoredObject[]) {
  return { apiVersion: 'lattice/v1', kind: `${kind}List`, metadata: { resourceVersion: String(revision) }, items };
}

export async function resourceRoutes(app: FastifyInstance): Promise<void> {
  app.get('/namespaces/:namespace/:plural/:name', { schema: { params: objectParams, querystring: { type: 'object', additionalProperties: false, properties: { showSecrets: { type: 'boolean' } } } } }, async (request) => {
    const { namespace, plural: p, name } = request.params as { namespace: string; plural: string; name: string };
    const info = namespacedKind(p);
    checkNamespace(request.principal, namespace);
    const object = await app.store.get({ kind: info.kind, namespace, name });
    return present(object, { showSecrets: (request.query as { showSecrets?: boolean }).showSecrets });
  });

  app.get('/namespaces/:namespace/:plural', { schema: { params: objectParams, querystring: listQuery } }, async (request) => {
    const { namespace, plural: p } = request.params as { namespace: string; plural: string };
    const { labelSelector, fieldSelector } = request.query as { labelSelector?: string; fieldSelector?: string };
    const info = namespacedKind(p);
    checkNamespace(request.principal, namespace);
    if (fieldSelector && info.kind !== 'Event') throw badRequest('fieldSelector is supported for events only');
    const selector = labelSelector === undefined ? undefined : parseParam(() => parseLabelSelector(labelSelector));
    const { items, revision } = await app.store.list({ kind: info.kind, namespace, labelSelector: selector });
    return listBody(info.kind, revision, items.filter(eventFilter(fieldSelector)).map((o) => present(o)));
  });

  app.get('/:plural', { schema: { params: { type: 'object', properties: { plural } }, querystring: listQuery } }, async (request) => {
    const info = kindByPlural((request.params as { plural: string }).plural);
    if (!info) throw notFound(`unknown resource type ${JSON.stringify((request.params as { plural: string }).plural)}`);
    const { labelSelector, fieldSelector } = request.query as { labelSelector?: string; fieldSelector?: string };
    if (fieldSelector && info.kind !== 'Event') throw badRequest('fieldSelector is supported for events only');
    const namespace = info.namespaced ? request.principal.namespaces : undefined;
    const selector = labelSelector === undefined ? undefined : parseParam(() => parseLabelSelector(labelSelector));
    const { items, revision } = await app.store.list({ kind: info.kind, namespace, labelSelector: selector });
    const visible = items.filter((o) => canRead(request.principal, o)).filter(eventFilter(fieldSelector));
    return listBody(info.kind, revision, visible.map((o) => present(o)));
  });

  app.get('/agents/:name', { schema: { params: { type: 'object', properties: { name: { type: 'string', maxLength: 253 } } } } }, async (request) => {
    const { name } = request.params as { name: string };
    const agent = await app.store.get({ kind: 'Agent', name }).catch(() => undefined);
    // A private agent of someone else is indistinguishable from one that does not exist.
    if (!agent || !canRead(request.principal, agent)) throw notFound(`Agent ${name} not found`);
    return agent;
  });

  // Deleting an Agent revokes its credential and cuts its connection; what it ran is Lost and
  // replaced elsewhere. An admin may delete any, a user its own private agents.
  app.delete('/agents/:name', { schema: { params: { type: 'object', properties: { name: { type: 'string', maxLength: 253 } } } } }, async (request) => {
    const { name } = request.params as { name: string };
    const agent = await app.store.get({ kind: 'Agent', name }).catch(() => undefined);
    if (!agent || !canRead(request.principal, agent)) throw notFound(`Agent ${name} not found`);
    const owner = (agent.spec as { owner?: string }).owner;
    if (request.principal.role !== 'admin' && owner !== request.principal.username) throw forbidden(`Agent ${name} is shared: only an admin may delete it`);
    // Its connection, on whichever replica holds it, closes as the store reports the revocation.
    await app.store.auth.deleteAgentCredential(name);
    const { object } = await app.store.delete({ kind: 'Agent', name });
    return object;
  });

  app.put('/namespaces/:namespace/:plural/:name', { schema: { params: objectParams } }, async (request) => {
    const { namespace, plural: p, name } = request.params as { namespace: string; plural: string; name: string };
    const info = namespacedKind(p);
    checkNamespace(request.principal, namespace);
    const refusal = writeRefusal(request.principal, info.kind);
    if (refusal) throw forbidden(refusal);
    const result = validate(request.body);
    if (!result.ok) throw invalid(formatFieldErrors(result.errors), result.errors);
    const desired = result.value as StoredObject;
    const mismatch = [
      desired.kind !== info.kind && { path: 'kind', message: `must be ${info.kind} to match the URL` },
      desired.metadata.name !== name && { path: 'metadata.name', message: `must be ${JSON.stringify(name)} to match the URL` },
      desired.metadata.namespace !== undefined && desired.metadata.namespace !== namespace && { path: 'metadata.namespace', message: `must be ${JSON.stringify(namespace)} to match the URL` },
      desired.metadata.resourceVersion === undefined && { path: 'metadata.resourceVersion', message: 'is required: PUT replaces the object you read; use POST /api/v1/apply to write without it' },
    ].filter((d): d is { path: string; message: string } => Boolean(d));
    if (mismatch.length > 0) throw invalid(formatFieldErrors(mismatch), mismatch);
    desired.metadata.namespace = namespace;
    let reservation: UsageReservation | undefined;
    try {
      const updated = await app.store.transact(async (tx) => {
        const live = await tx.get({ kind: info.kind, namespace, name });
        const { object } = planApply(withSecretValues(desired, live), live);
        reservation = app.namespaceUsage.admit(request.principal, [{ live, next: object }]);
        return tx.update({ ...object, metadata: { ...object.metadata, resourceVersion: desired.metadata.resourceVersion } });
      });
      reservation?.committed([updated]);
      return present(updated);
    } catch (error) {
      reservation?.released();
      throw error;
    }
  });

  app.put('/namespaces/:namespace/:plural/:name/status', { schema: { params: objectParams } }, async () => {
    throw new ApiError('Forbidden', 'status is written by the reconciler and by agents, not by users');
  });

  app.delete(
    '/namespaces/:namespace/:plural/:name',
    { schema: { params: objectParams, querystring: { type: 'object', additionalProperties: false, properties: { resourceVersion: { type: 'string', pattern: '^[0-9]+$' } } } } },
    async (request, reply) => {
      const { namespace, plural: p, name } = request.params as { namespace: string; plural: string; name: string };
      const info = namespacedKind(p);
      checkNamespace(request.principal, namespace);
      const refusal = writeRefusal(request.principal, info.kind);
      if (refusal) throw forbidden(refusal);
      const { resourceVersion } = request.query as { resourceVersion?: string };
      const { object, deleted } = await app.store.transact(async (tx) => {
        const result = await tx.delete({ kind: info.kind, namespace, name }, { resourceVersion });
        const message = result.deleted ? `deleted by ${request.principal.username}` : `deletion requested by ${request.principal.username}; waiting for its instances to stop`;
        await recordEvent(tx, result.object, 'Deleted', message, app.now());
        return result;
      });
      reply.code(deleted ? 200 : 202);
      return present(object);
    },
  );
}
