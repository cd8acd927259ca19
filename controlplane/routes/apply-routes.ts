import type { FastifyInstance } from 'fastify';
import { applyManifests } from '../apply/apply-service.ts';
import { jsonDocuments, parseYamlDocuments, YamlBody } from '../apply/parse-manifests.ts';
import { badRequest } from '../errors.ts';

export async function applyRoutes(app: FastifyInstance): Promise<void> {
  app.post(
    '/apply',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            dryRun: { type: 'boolean', default: false },
            ifRevision: { type: 'integer', minimum: 0 },
            applySet: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
            prune: { type: 'boolean', default: false },
          },
        },
      },
    },
    async (request) => {
      if (request.body === undefined || request.body === null) throw badRequest('send the manifests as the body (application/yaml or application/json)');
      const manifests = request.body instanceof YamlBody ? parseYamlDocuments(request.body.text) : jsonDocuments(request.body);
      const query = request.query as { dryRun: boolean; ifRevision?: number; applySet?: string; prune: boolean };
      return applyManifests(app.store, request.principal, manifests, { ...query, workloadFinalizer: app.config.reconciler, requests: { defaults: app.config.defaultRequests, sharedPerUser: app.config.sharedRequestsPerUser }, usage: app.namespaceUsage }, app.now);
    },
  );
}
