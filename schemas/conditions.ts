// Reading and writing an object's status conditions, the same way on every floor: the agent and
// the controllers write them, the gateway, the CLI and the UI read them.
import type { Condition } from './types.gen.ts';

/**
 * What a writer decides; the time it last changed is the helpers' to keep. Reason and message are
 * required so that a condition never carries an undefined property (the schema rejects one).
 */
export type ConditionFacts = Required<Omit<Condition, 'lastTransitionTime'>>;

// Readers take any status string: a client may hold objects typed loosely (the bench does).
type Conditions = readonly { type: string; status: string }[] | undefined;

/** An object (an Agent) whose Ready condition is True. */
export function isReadyCondition(object: { status?: { conditions?: Conditions } }): boolean {
  return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * next, stamped: it keeps the lastTransitionTime of previous's condition of its type while the
 * status stays the same, so the time says when the status last changed, not when it was written.
 */
export function transitioned(previous: readonly Condition[] | undefined, next: ConditionFacts, now: string): Condition {
  const before = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = before && before.status === next.status && before.lastTransitionTime ? before.lastTransitionTime : now;
  // One literal, not a spread of next: V8 gave each spread copy a hidden class of its own, and
  // the caches keep two conditions per Workload.
  return { type: next.type, status: next.status, reason: next.reason, message: next.message, lastTransitionTime };
}

/**
 * conditions with condition in place of the one of its type (appended when there is none). In
 * place: the order stays, so rewriting an unchanged condition leaves the list as it was.
 */
export function setCondition(conditions: readonly Condition[] | undefined, condition: Condition): Condition[] {
  const list = conditions ?? [];
  return list.some((c) => c.type === condition.type) ? list.map((c) => (c.type === condition.type ? condition : c)) : [...list, condition];
}

/** conditions with next in place of the one of its type, its lastTransitionTime kept while the status is. */
export function upsertCondition(conditions: readonly Condition[] | undefined, next: ConditionFacts, now: string): Condition[] {
  return setCondition(conditions, transitioned(conditions, next, now));
}
