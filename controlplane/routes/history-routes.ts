// Rollout history: a Workload's spec at each of its last generations (what `lattice rollout
// history` shows and `rollout undo` goes back to).
import type { FastifyInstance } from 'fastify';
import type { WorkloadHistory } from '../../schemas/types.gen.ts';
import { canUseNamespace } from '../auth/principal.ts';
import { forbidden } from '../errors.ts';

const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 } as const;

export async function historyRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/namespaces/:namespace/workloads/:name/history',
    { schema: { params: { type: 'object', properties: { namespace: dnsLabel, name: dnsLabel } } } },
    async (request) => {
      const { namespace, name } = request.params as { namespace: string; name: string };
      if (!canUseNamespace(request.principal, namespace)) throw forbidden(`you have no access to namespace ${JSON.stringify(namespace)}`);
      // A workload that does not exist is a 404 (from the store), not an empty history.
      return { apiVersion: 'lattice/v1', kind: 'WorkloadHistory', items: await app.store.history({ kind: 'Workload', namespace, name }) } satisfies WorkloadHistory;
    },
  );
}
