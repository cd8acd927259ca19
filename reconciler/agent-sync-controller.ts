// Per agent: diff what should run there against what it reports, send deploy/stop actions.
// Secrets are resolved here, at the last moment, into the deploy for that one agent.
import type { DeploySpec, Instance, Secret } from '../schemas/types.gen.ts';
import type { ObjectStore } from '../store/types.ts';
import type { AgentLink } from './agent-link.ts';
import type { ObjectCache } from './object-cache.ts';
import { planAgentActions } from './plan-agent-actions.ts';

export class AgentSyncController {
  constructor(
    private readonly deps: { store: ObjectStore; instances: ObjectCache<Instance>; link: AgentLink },
  ) {}

  async reconcile(agent: string): Promise<void> {
    const { link, instances } = this.deps;
    const observed = link.observed(agent);
    if (!observed) return; // not connected: it keeps running what it has; we diff again on hello
    const actions = planAgentActions(instances.byIndex('agent', agent), observed, link.inFlight(agent));
    for (const instance of actions.deploy) link.send(agent, { type: 'deploy', instance: await this.deploySpec(instance) });
    for (const uid of actions.stop) link.send(agent, { type: 'stop', uid });
  }

  private async deploySpec(instance: Instance): Promise<DeploySpec> {
    const env: Record<string, string> = {};
    for (const variable of instance.spec.template.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom) {
        const { name, key } = variable.valueFrom.secretKeyRef;
        const secret = (await this.deps.store.get({ kind: 'Secret', namespace: instance.metadata.namespace, name }).catch(() => undefined)) as Secret | undefined;
        const value = secret?.spec.data?.[key];
        if (value === undefined) throw new Error(`instance ${instance.metadata.namespace}/${instance.metadata.name}: secret ${name} has no key ${key}`);
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
