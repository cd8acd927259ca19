// Conditions: read whether one is True, and replace one keeping the time its status last changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isReadyCondition, setCondition, transitioned, upsertCondition } from '../../schemas/conditions.ts';
import type { Condition } from '../../schemas/types.gen.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';
const ready: Condition = { type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'connected', lastTransitionTime: T0 };
const second: Condition = { type: 'SecondConnection', status: 'True', reason: 'CredentialReused', message: 'copied?', lastTransitionTime: T0 };

test('isReadyCondition: only a True condition of type Ready counts', () => {
  assert.equal(isReadyCondition({ status: { conditions: [second, ready] } }), true);
  assert.equal(isReadyCondition({ status: { conditions: [{ ...ready, status: 'False' }] } }), false);
  assert.equal(isReadyCondition({ status: { conditions: [{ ...ready, status: 'Unknown' }] } }), false);
  assert.equal(isReadyCondition({ status: { conditions: [second] } }), false);
  assert.equal(isReadyCondition({}), false);
  assert.equal(isReadyCondition({ status: {} }), false);
});

test('transitioned keeps lastTransitionTime while the status stays, and takes now when it changes', () => {
  const next = { type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'still connected' } as const;
  assert.deepEqual(transitioned([second, ready], next, T1), { ...next, lastTransitionTime: T0 });
  assert.deepEqual(transitioned([ready], { ...next, status: 'False' }, T1), { ...next, status: 'False', lastTransitionTime: T1 });
  assert.deepEqual(transitioned(undefined, next, T1), { ...next, lastTransitionTime: T1 }, 'a first condition');
  assert.deepEqual(transitioned([{ ...ready, lastTransitionTime: undefined }], next, T1), { ...next, lastTransitionTime: T1 }, 'no time to keep');
});

test('setCondition replaces the condition of its type in place, or appends it', () => {
  const replaced = { ...ready, status: 'False' as const };
  assert.deepEqual(setCondition([ready, second], replaced), [replaced, second]);
  assert.deepEqual(setCondition([second], ready), [second, ready]);
  assert.deepEqual(setCondition(undefined, ready), [ready]);
});

test('upsertCondition: set, with the transition time kept while the status is', () => {
  const facts = { type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'connected' } as const;
  assert.deepEqual(upsertCondition([ready, second], facts, T1), [ready, second], 'unchanged: the list as it was');
  assert.deepEqual(upsertCondition([ready, second], { ...facts, status: 'False', reason: 'HeartbeatMissed' }, T1), [
    { ...facts, status: 'False', reason: 'HeartbeatMissed', lastTransitionTime: T1 },
    second,
  ]);
  const before = [ready];
  upsertCondition(before, { ...facts, status: 'False' }, T1);
  assert.deepEqual(before, [ready], 'the list given is not changed');
});
