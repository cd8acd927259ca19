// What the reconciler needs from whoever holds the agents' connections (the control plane's
// agent gateway implements it): who is connected, what they report, and a way to send.
import type { ObservedInstance, ServerMessage } from '../schemas/types.gen.ts';
import type { InFlight } from './plan-agent-actions.ts';

export type AgentChange = 'connection' | 'report';

export interface AgentLink {
  /** What the agent last reported running; undefined while it is not connected. */
  observed(agent: string): readonly ObservedInstance[] | undefined;
  /** Actions sent to the agent and not answered yet (a stop unanswered for long counts as lost). */
  inFlight(agent: string): InFlight;
  /** When this process last heard from the agent (ms since the epoch), connected or not since. */
  lastHeard(agent: string): number | undefined;
  /** false when the agent is not connected (the message is dropped; the next sync resends). */
  send(agent: string, message: ServerMessage): boolean;
  /**
   * Called with an agent's name whenever it connects or disconnects ('connection') or reports a
   * change ('report'); not on heartbeats.
   */
  onAgentChange(listener: (agent: string, change: AgentChange) => void): void;
}
