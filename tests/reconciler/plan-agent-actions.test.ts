// planAgentActions, table by table: one agent's desired Instances (bound to it) against what it
// reports running and the deploys already on their way. uids equal instance names here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planAgentActions } from '../../reconciler/plan-agent-actions.ts';
import type { Instance, ObservedInstance } from '../../schemas/types.gen.ts';
import { NEW, OLD, instance, observed } from './fixtures.ts';

interface Case {
  name: string;
  desired: Instance[];
  observed: ObservedInstance[];
  /** uid → templateHash of deploys sent and not yet reported; omitted: the default. */
  inFlight?: [string, string][];
  /** uids told to stop and not yet reported gone. */
  stopping?: string[];
  /** deploy: instance names in desired order; stop, ignore: uids. */
  want: { deploy: string[]; stop: string[]; ignore: string[] };
  todo?: string;
}

const cases: Case[] = [
  { name: 'nothing desired, nothing running', desired: [], observed: [], want: { deploy: [], stop: [], ignore: [] } },
  { name: 'nothing desired, nothing running, empty inFlight', desired: [], observed: [], inFlight: [], want: { deploy: [], stop: [], ignore: [] } },
  { name: 'desired and absent on the agent: deploy', desired: [instance({ name: 'a' })], observed: [], want: { deploy: ['a'], stop: [], ignore: [] } },
  {
    name: 'desired and running with the same hash: ignore',
    desired: [instance({ name: 'a' })],
    observed: [observed({ uid: 'a' })],
    want: { deploy: [], stop: [], ignore: ['a'] },
  },
  {
    name: 'running with another hash: deploy the desired template',
    desired: [instance({ name: 'a', hash: NEW })],
    observed: [observed({ uid: 'a', hash: OLD })],
    want: { deploy: ['a'], stop: [], ignore: [] },
  },
  {
    name: 'same hash but Failed on the agent: ignore (the agent owns restarts)',
    desired: [instance({ name: 'a' })],
    observed: [observed({ uid: 'a', state: 'Failed' })],
    want: { deploy: [], stop: [], ignore: ['a'] },
  },
  {
    name: 'same hash, Exited and Unhealthy ones too: ignore',
    desired: [instance({ name: 'a' }), instance({ name: 'b' })],
    observed: [observed({ uid: 'a', state: 'Exited' }), observed({ uid: 'b', health: 'Unhealthy' })],
    want: { deploy: [], stop: [], ignore: ['a', 'b'] },
  },
  {
    name: 'running but not desired: stop',
    desired: [],
    observed: [observed({ uid: 'x' })],
    want: { deploy: [], stop: ['x'], ignore: [] },
  },
  {
    name: 'desired being deleted and running: stop',
    desired: [instance({ name: 'a', deleting: true })],
    observed: [observed({ uid: 'a' })],
    want: { deploy: [], stop: ['a'], ignore: [] },
  },
  {
    name: 'desired being deleted and not running: nothing',
    desired: [instance({ name: 'a', deleting: true })],
    observed: [],
    want: { deploy: [], stop: [], ignore: [] },
  },
  {
    name: 'desired being deleted, a deploy in flight, not reported yet: nothing',
    desired: [instance({ name: 'a', deleting: true })],
    observed: [],
    inFlight: [['a', NEW]],
    want: { deploy: [], stop: [], ignore: [] },
  },
  {
    name: 'desired being deleted, running, a deploy in flight: stop',
    desired: [instance({ name: 'a', deleting: true })],
    observed: [observed({ uid: 'a' })],
    inFlight: [['a', NEW]],
    want: { deploy: [], stop: ['a'], ignore: [] },
  },
  {
    name: 'absent but a deploy of the same hash in flight: ignore, not resent',
    desired: [instance({ name: 'a' })],
    observed: [],
    inFlight: [['a', NEW]],
    want: { deploy: [], stop: [], ignore: ['a'] },
  },
  {
    name: 'absent and a deploy of another hash in flight: deploy',
    desired: [instance({ name: 'a', hash: NEW })],
    observed: [],
    inFlight: [['a', OLD]],
    want: { deploy: ['a'], stop: [], ignore: [] },
  },
  {
    name: 'running the old hash, the new one in flight: ignore',
    desired: [instance({ name: 'a', hash: NEW })],
    observed: [observed({ uid: 'a', hash: OLD })],
    inFlight: [['a', NEW]],
    want: { deploy: [], stop: [], ignore: ['a'] },
  },
  {
    name: 'running the desired hash, an older deploy still in flight: ignore',
    desired: [instance({ name: 'a', hash: NEW })],
    observed: [observed({ uid: 'a', hash: NEW })],
    inFlight: [['a', OLD]],
    want: { deploy: [], stop: [], ignore: ['a'] },
  },
  {
    name: 'running the old hash, the old one in flight: deploy',
    desired: [instance({ name: 'a', hash: NEW })],
    observed: [observed({ uid: 'a', hash: OLD })],
    inFlight: [['a', OLD]],
    want: { deploy: ['a'], stop: [], ignore: [] },
  },
  {
    name: 'in flight for a uid neither desired nor running: nothing',
    desired: [],
    observed: [],
    inFlight: [['ghost', NEW]],
    want: { deploy: [], stop: [], ignore: [] },
  },
  {
    name: 'observed only, every desired instance being deleted: stop all that run',
    desired: [instance({ name: 'a', deleting: true }), instance({ name: 'b', deleting: true })],
    observed: [observed({ uid: 'a' }), observed({ uid: 'b', hash: OLD }), observed({ uid: 'c' })],
    want: { deploy: [], stop: ['a', 'b', 'c'], ignore: [] },
  },
  {
    name: 'the same uid reported twice: stopped once',
    desired: [],
    observed: [observed({ uid: 'x' }), observed({ uid: 'x', hash: OLD })],
    want: { deploy: [], stop: ['x'], ignore: [] },
  },
  {
    name: 'two desired, one running: deploy the other',
    desired: [instance({ name: 'a' }), instance({ name: 'b' })],
    observed: [observed({ uid: 'b' })],
    want: { deploy: ['a'], stop: [], ignore: ['b'] },
  },
  {
    name: 'uid, not name, is the identity: a same-named instance with a new uid is deployed and the old uid stopped',
    desired: [instance({ name: 'a', uid: 'a-2' })],
    observed: [observed({ uid: 'a' })],
    want: { deploy: ['a'], stop: ['a'], ignore: [] },
  },
  {
    name: 'a stop on its way is not sent again',
    desired: [],
    observed: [observed({ uid: 'x' }), observed({ uid: 'y' })],
    stopping: ['x'],
    want: { deploy: [], stop: ['y'], ignore: ['x'] },
  },
  {
    name: 'a stop on its way for a uid no longer reported: nothing',
    desired: [],
    observed: [],
    stopping: ['x'],
    want: { deploy: [], stop: [], ignore: [] },
  },
  {
    name: 'a uid told to stop but desired again (recreated binding): not stopped, deployed if absent',
    desired: [instance({ name: 'x' })],
    observed: [observed({ uid: 'x', hash: OLD })],
    stopping: ['x'],
    want: { deploy: ['x'], stop: [], ignore: [] },
  },
  {
    name: 'many mixed',
    desired: [
      instance({ name: 'same' }),
      instance({ name: 'absent' }),
      instance({ name: 'stale', hash: NEW }),
      instance({ name: 'flying' }),
      instance({ name: 'flying-old', hash: NEW }),
      instance({ name: 'going', deleting: true }),
      instance({ name: 'gone', deleting: true }),
    ],
    observed: [
      observed({ uid: 'orphan' }),
      observed({ uid: 'same' }),
      observed({ uid: 'stale', hash: OLD }),
      observed({ uid: 'going' }),
    ],
    inFlight: [
      ['flying', NEW],
      ['flying-old', OLD],
      ['orphan', NEW],
    ],
    stopping: ['going'],
    want: { deploy: ['absent', 'stale', 'flying-old'], stop: ['orphan'], ignore: ['same', 'flying', 'going'] },
  },
];

describe('planAgentActions', () => {
  for (const row of cases) {
    test(row.name, { todo: row.todo }, () => {
      const actions =
        row.inFlight || row.stopping
          ? planAgentActions(row.desired, row.observed, { deploys: new Map(row.inFlight), stops: new Set(row.stopping) })
          : planAgentActions(row.desired, row.observed);
      assert.deepEqual({ deploy: actions.deploy.map((i) => i.metadata.name), stop: actions.stop, ignore: actions.ignore }, row.want);
    });
  }

  test('deploy hands back the desired Instance objects themselves', () => {
    const a = instance({ name: 'a' });
    assert.equal(planAgentActions([a], []).deploy[0], a);
  });

  test('a second plan after the deploy is reported asks for nothing', () => {
    const desired = [instance({ name: 'a' }), instance({ name: 'b', hash: NEW })];
    const first = planAgentActions(desired, [observed({ uid: 'b', hash: OLD }), observed({ uid: 'x' })]);
    assert.deepEqual(first.deploy.map((i) => i.metadata.uid), ['a', 'b']);
    const inFlight = { deploys: new Map(first.deploy.map((i) => [i.metadata.uid!, i.spec.templateHash])), stops: new Set(first.stop) };
    // Sent, not answered yet: nothing resent, the orphan's stop included.
    assert.deepEqual(planAgentActions(desired, [observed({ uid: 'b', hash: OLD }), observed({ uid: 'x' })], inFlight), { deploy: [], stop: [], ignore: ['a', 'b', 'x'] });
    // Reported: nothing to do, in flight or not.
    const reported = [observed({ uid: 'a' }), observed({ uid: 'b' })];
    assert.deepEqual(planAgentActions(desired, reported, inFlight), { deploy: [], stop: [], ignore: ['a', 'b'] });
    assert.deepEqual(planAgentActions(desired, reported), { deploy: [], stop: [], ignore: ['a', 'b'] });
  });
});
