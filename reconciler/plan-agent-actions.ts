// One agent: what it should run (Instances bound to it, not being deleted) against what it
// reports running → deploy and stop actions. Pure; the agent sync controller sends them.
import type { Instance, ObservedInstance } from '../schemas/types.gen.ts';
import { isDeleting } from './instance-state.ts';

export interface AgentActions {
  /** Instances to (re)deploy: absent on the agent, or running another template. */
  deploy: Instance[];
  /** uids running on the agent that should not. */
  stop: string[];
  /** Already as desired, or a deploy of this template is on its way. */
  ignore: string[];
}

/** Actions sent to the agent that it has not answered yet: not sent again. */
export interface InFlight {
  /** uid → templateHash of deploys not yet reflected in a report. */
  deploys: ReadonlyMap<string, string>;
  /** uids told to stop and not yet reported gone. */
  stops: ReadonlySet<string>;
}

export const NOTHING_IN_FLIGHT: InFlight = { deploys: new Map(), stops: new Set() };

export function planAgentActions(desired: readonly Instance[], observed: readonly ObservedInstance[], inFlight: InFlight = NOTHING_IN_FLIGHT): AgentActions {
  const wanted = new Map(desired.filter((i) => !isDeleting(i)).map((i) => [i.metadata.uid!, i]));
  const running = new Map(observed.map((o) => [o.uid, o]));
  const actions: AgentActions = { deploy: [], stop: [], ignore: [] };
  for (const [uid, instance] of wanted) {
    const seen = running.get(uid);
    const hash = instance.spec.templateHash;
    if (seen?.templateHash === hash || inFlight.deploys.get(uid) === hash) actions.ignore.push(uid);
    else actions.deploy.push(instance);
  }
  for (const uid of running.keys()) {
    if (wanted.has(uid)) continue;
    if (inFlight.stops.has(uid)) actions.ignore.push(uid);
    else actions.stop.push(uid);
  }
  return actions;
}
