// Per agent: diff what should run there against what it reports, send deploy/stop actions.
// Secrets are resolved here, at the last moment, into the deploy for that one agent.
import { ownValue } from '../schemas/own-value.ts';
import type { DeploySpec, Instance, Secret } from '../schemas/types.gen.ts';
import type { ObjectStore } from '../store/types.ts';
import type { AgentLink } from './agent-link.ts';
import type { Controller } from './controller.ts';
import type { ObjectCache } from './object-cache.ts';
import { planAgentActions } from './plan-agent-actions.ts';

export class AgentSyncController implements Controller {
  readonly name = 'agent-sync';

  constructor(
    private readonly deps: { store: ObjectStore; instances: ObjectCache<Instance>; link: AgentLink },
  ) {}

  async reconcile(agent: string): Promise<void> {
    const { link, instances } = this.deps;
    const observed = link.observed(agent);
    if (!observed) return; // not connected: it keeps running what it has; we diff again on hello
    const bound = instances.byIndex('agent', agent);
    const actions = planAgentActions(bound, observed, link.inFlight(agent));
    const unresolved: string[] = [];
    for (const instance of actions.deploy) {
      const spec = await this.deploySpec(instance);
      if (typeof spec === 'string') {
        unresolved.push(spec);
        await this.reportWaiting(instance, spec);
      } else link.send(agent, { type: 'deploy', instance: spec });
    }
    for (const uid of actions.stop) {
      const reclaim = await this.reclaimsVolumes(bound.find((i) => i.metadata.uid === uid));
      link.send(agent, { type: 'stop', uid, ...(reclaim ? { reclaimVolumes: true } : {}) });
    }
    // An error, so the loop retries it with back-off; the instance's status message says what it waits for.
    if (unresolved.length > 0) throw new Error(unresolved.join('; '));
  }

  /**
   * Whether stopping this instance may take its volumes with it: some say reclaimPolicy Delete and
   * its workload is deleted. Scale-downs, rollouts and moves keep data (the workload lives on).
   */
  private async reclaimsVolumes(instance: Instance | undefined): Promise<boolean> {
    if (!instance?.spec.template.volumes?.some((v) => v.reclaimPolicy === 'Delete')) return false;
    // Only a workload that is surely gone reclaims: any other error retries the sync, data kept.
    const workload = await this.deps.store
      .get({ kind: 'Workload', namespace: instance.metadata.namespace, name: instance.spec.workload })
      .catch((error: { code?: string }) => (error.code === 'NotFound' ? undefined : Promise.reject(error)));
    return !workload || workload.metadata.deletionTimestamp !== undefined;
  }

  /** A deploy that cannot be sent yet shows why in the Instance's status (names only, never a value). */
  private async reportWaiting(instance: Instance, reason: string): Promise<void> {
    if (instance.status?.message === reason) return;
    await this.deps.store
      .updateStatus({ kind: 'Instance', namespace: instance.metadata.namespace, name: instance.metadata.name }, { ...instance.status, state: instance.status?.state ?? 'Pending', message: reason }, { uid: instance.metadata.uid, basis: instance })
      .catch(() => undefined);
  }

  /** The deploy for the agent, or why it cannot be made (a Secret or key is missing). */
  private async deploySpec(instance: Instance): Promise<DeploySpec | string> {
    const env: Record<string, string> = {};
    for (const variable of instance.spec.template.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom) {
        const { name, key } = variable.valueFrom.secretKeyRef;
        const secret = (await this.deps.store.get({ kind: 'Secret', namespace: instance.metadata.namespace, name }).catch(() => undefined)) as Secret | undefined;
        const value = ownValue(secret?.spec.data, key);
        if (!secret) return `waiting for secret ${name} (env ${variable.name})`;
        if (value === undefined) return `waiting for key ${key} in secret ${name} (env ${variable.name})`;
        env[variable.name] = value;
      }
    }
    return {
      uid: instance.metadata.uid!,
      name: instance.metadata.name,
      namespace: instance.metadata.namespace!,
      workload: instance.spec.workload,
      templateHash: instance.spec.templateHash,
      template: instance.spec.template,
      env,
    };
  }
}
