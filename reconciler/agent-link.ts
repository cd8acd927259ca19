// What the reconciler needs from whoever holds the agents' connections (the control plane's
// agent gateway implements it): who is connected, what they report, and a way to send.
import type { ObservedInstance, ServerMessage } from '../schemas/types.gen.ts';

export interface AgentLink {
  /** What the agent last reported running; undefined while it is not connected. */
  observed(agent: string): readonly ObservedInstance[] | undefined;
  /** Deploys sent to the agent and not yet reflected in a report (uid → templateHash). */
  inFlight(agent: string): ReadonlyMap<string, string>;
  /** false when the agent is not connected (the message is dropped; the next sync resends). */
  send(agent: string, message: ServerMessage): boolean;
  /** Called with an agent's name whenever its connection or its reports change. */
  onAgentChange(listener: (agent: string) => void): void;
}
