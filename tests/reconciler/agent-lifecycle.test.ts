// The agent lifecycle controller's liveness when the agent's connection is held by another
// replica, table-driven over a real SQLite store and real caches: the Agent's status names the
// holder; while the holder lives the agent is heard, once it is dead the agent's silence counts
// from when the holder was last seen, and an agent no replica holds is as silent as its recorded
// lastHeartbeatTime. (This replica's own connections are the AgentLink's, covered end to end.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AgentLifecycleController, type ReplicaLiveness } from '../../reconciler/agent-lifecycle-controller.ts';
import type { AgentLink } from '../../reconciler/agent-link.ts';
import { ObjectCache } from '../../reconciler/object-cache.ts';
import { NOTHING_IN_FLIGHT } from '../../reconciler/plan-agent-actions.ts';
import type { Instance, ServedAgent } from '../../schemas/types.gen.ts';
import { instance } from './fixtures.ts';
import { openForTest, sqliteBackend } from '../support/store-backends.ts';

const backend = sqliteBackend();
before(() => backend.start());
after(() => backend.stop());

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const TIMINGS = { graceMs: 15_000, evictionMs: 30_000 };
const seconds = (s: number) => s * 1000;

/** This process holds no connection: everything it knows of the agent is in the store. */
const nothingConnectedHere: AgentLink = {
  observed: () => undefined,
  inFlight: () => NOTHING_IN_FLIGHT,
  lastHeard: () => undefined,
  send: () => false,
  onAgentChange: () => {},
};

/** Replicas as the directory would see them: alive, or last seen some seconds ago, or gone. */
function replicas(seen: Record<string, 'alive' | number | 'gone'>): ReplicaLiveness {
  return {
    id: 'leader',
    isAlive: (id) => seen[id] === 'alive',
    lastSeen: (id) => {
      const state = seen[id];
      if (state === 'alive') return NOW;
      return typeof state === 'number' ? NOW - seconds(state) : undefined;
    },
  };
}

interface Row {
  name: string;
  /** The replica named in the Agent's status; absent: disconnected. */
  holder?: string;
  replicas: Record<string, 'alive' | number | 'gone'>;
  /** Seconds before NOW of the recorded lastHeartbeatTime. */
  heartbeatAgo: number;
  want: { ready: 'True' | 'False'; lost: boolean };
}

const rows: Row[] = [
  { name: 'held by a live replica, heartbeat recorded long ago: Ready', holder: 'b', replicas: { b: 'alive' }, heartbeatAgo: 60, want: { ready: 'True', lost: false } },
  { name: 'held by a replica dead for 5 s (within the grace): still Ready', holder: 'b', replicas: { b: 5 }, heartbeatAgo: 60, want: { ready: 'True', lost: false } },
  { name: 'held by a replica dead for 20 s: NotReady, not yet Lost', holder: 'b', replicas: { b: 20 }, heartbeatAgo: 60, want: { ready: 'False', lost: false } },
  { name: 'held by a replica dead for 50 s: Lost', holder: 'b', replicas: { b: 50 }, heartbeatAgo: 60, want: { ready: 'False', lost: true } },
  { name: "held by a replica whose row is gone: the recorded heartbeat counts (10 s: Ready)", holder: 'b', replicas: { b: 'gone' }, heartbeatAgo: 10, want: { ready: 'True', lost: false } },
  { name: "held by a replica whose row is gone, heartbeat 50 s ago: Lost", holder: 'b', replicas: { b: 'gone' }, heartbeatAgo: 50, want: { ready: 'False', lost: true } },
  { name: 'held by no replica (it disconnected), heard 20 s ago: NotReady', replicas: { b: 'alive' }, heartbeatAgo: 20, want: { ready: 'False', lost: false } },
  { name: 'a live replica does not vouch for an agent another holds', holder: 'c', replicas: { b: 'alive', c: 50 }, heartbeatAgo: 60, want: { ready: 'False', lost: true } },
];

describe('agent lifecycle: liveness held by another replica', () => {
  for (const row of rows) {
    test(row.name, async (t) => {
      const store = await openForTest(t, await backend.freshUrl());
      await store.create({
        apiVersion: 'lattice/v1',
        kind: 'Agent',
        metadata: { name: 'agent-1' },
        spec: {},
      });
      await store.updateStatus(
        { kind: 'Agent', name: 'agent-1' },
        {
          lastHeartbeatTime: new Date(NOW - seconds(row.heartbeatAgo)).toISOString(),
          conditions: [{ type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'connected', lastTransitionTime: new Date(NOW - seconds(120)).toISOString() }],
          ...(row.holder ? { replica: row.holder } : {}),
        },
      );
      const { metadata: _m, ...body } = instance({ name: 'web-1', agent: 'agent-1' });
      await store.create({ ...body, metadata: { name: 'web-1', namespace: 'team-a' } });

      const agents = new ObjectCache<ServedAgent>(store, 'Agent', (error) => assert.fail(String(error)));
      const instances = new ObjectCache<Instance>(store, 'Instance', (error) => assert.fail(String(error)));
      instances.addIndex('agent', (i) => (i.spec.agent ? [i.spec.agent] : []));
      await Promise.all([agents.start(), instances.start()]);
      const controller = new AgentLifecycleController({
        store,
        agents,
        instances,
        link: nothingConnectedHere,
        replicas: replicas(row.replicas),
        timings: TIMINGS,
        now: () => NOW,
        startedAt: () => NOW - seconds(600),
      });
      await controller.reconcile('agent-1');
      // Before the store closes (t.after), or their watches fail.
      agents.stop();
      instances.stop();

      const agent = (await store.get({ kind: 'Agent', name: 'agent-1' })) as ServedAgent;
      assert.equal(agent.status?.conditions?.find((c) => c.type === 'Ready')?.status, row.want.ready);
      const stored = (await store.get({ kind: 'Instance', namespace: 'team-a', name: 'web-1' })) as Instance;
      assert.equal(stored.status?.state === 'Lost', row.want.lost, `instance state ${stored.status?.state}`);
    });
  }
});
