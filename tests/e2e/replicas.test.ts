// Three real `lattice server` processes on one PostgreSQL database (A leads, B and C stand by) and
// one real agent connected to B only:
//   - a workload applied through A runs on the agent; the leader keeps the agent Ready although it
//     never hears it (its liveness is in the store: B holds it, and B is alive);
//   - its logs and stats read through C come from the agent through B (forwarded with the replica
//     credential; C holds nothing);
//   - a watcher on C sees every write made through A, in order, nothing missed;
//   - a logout through A holds on B within a second, though B had the session cached.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LatticeClient } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import type { Agent, Instance, Secret, WatchMessage } from '../../schemas/types.gen.ts';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../support/postgres.ts';
import { ADMIN } from '../support/server.ts';
import { leads, loginAt, oneLeader, startReplica, type Replica } from '../support/replicas.ts';
import { E2E_TIMINGS, e2eTest, getAgent, getWorkload, listInstances, recordedPid, scriptWorkload, sleep, waitFor } from './support.ts';

const unavailable = postgresUnavailableReason();
if (unavailable) console.log(`# skipping the replica tests: ${unavailable}`);

let postgres: PostgresServer | undefined;
before(async () => {
  if (!unavailable) postgres = await startPostgres();
});
after(() => postgres?.stop());

// E2E_TIMINGS, as every e2e control plane has them: the real agent started here heartbeats every
// 0.5 s for a grace of 2 s (tests/e2e/support.ts).
const REPLICA_ENV = { LATTICE_AGENT_GRACE: String(E2E_TIMINGS.graceMs / 1000), LATTICE_AGENT_EVICTION: String(E2E_TIMINGS.evictionMs / 1000) };

const tenantOn = (url: string) => loginAt(url, 'tenant', 'tenant-password-1');

const replicas: Replica[] = [];

e2eTest(
  'three replicas: apply on A runs on an agent held by B; logs and stats through C; watchers on C miss nothing; a logout holds everywhere',
  {
    timeout: 150_000,
    ...(unavailable ? { skip: unavailable } : {}),
    controlPlane: async () => {
      const db = await postgres!.createDatabase();
      // A first, so that it leads; B and C stand by.
      for (const label of ['server a', 'server b', 'server c']) replicas.push(await startReplica(label, db, REPLICA_ENV));
      const a = replicas[0]!;
      return { app: undefined as never, url: a.url, close: () => a.proc.kill() };
    },
  },
  async (env) => {
    const { t } = env;
    t.after(() => Promise.all(replicas.splice(0).map((r) => r.proc.kill())));
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    await waitFor(() => leads(a), 10_000, 'server a to lead');

    // ---- the agent connects to B only
    await env.retarget(b.url);
    const agent = await env.startAgent({ name: 'bee' });
    await env.retarget(a.url);
    const held = await getAgent(env.admin, 'bee');
    assert.equal(held?.status?.replica, b.id, 'the Agent names the replica holding its connection');

    // ---- apply through A; the leader (A) places it; B carries it to the agent
    const marker = env.marker('replicated');
    const name = 'ticker';
    const script = "let n = 0; setInterval(() => console.log(`tick ${++n}`), 100)";
    await env.user.apply([scriptWorkload(name, marker, script, { replicas: 2 })]);
    const running = await waitFor(
      async () => {
        const w = await getWorkload(env.user, env.namespace, name);
        const instances = await listInstances(env.user, env.namespace, name);
        return w?.status?.readyReplicas === 2 && instances.every((i) => i.status?.state === 'Running') ? instances : undefined;
      },
      30_000,
      'ticker to run 2 replicas',
    );
    const pids = running.map((i) => recordedPid(agent, i.metadata.uid!));
    assert.ok(pids.every((pid) => pid !== undefined), 'the agent runs both');

    // ---- the leader never hears the agent itself, yet keeps it Ready well past the grace
    const watchedFor = 3 * E2E_TIMINGS.graceMs;
    const until = Date.now() + watchedFor;
    while (Date.now() < until) {
      const agentNow = (await getAgent(env.admin, 'bee')) as Agent;
      const ready = agentNow.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `bee stays Ready on the leader's watch (${JSON.stringify(ready)})`);
      await sleep(250);
    }
    const after = await listInstances(env.user, env.namespace, name);
    assert.deepEqual(
      after.map((i) => [i.metadata.uid, i.status?.state]),
      running.map((i) => [i.metadata.uid, 'Running']),
      'nothing was Lost or replaced',
    );

    // ---- logs and stats through C, which holds nothing: forwarded to B
    const { client: onC } = await tenantOn(c.url);
    let text = '';
    for await (const chunk of onC.logs(env.namespace, name, { tail: 5 })) text += chunk;
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 10, `five lines from each instance:\n${text}`);
    assert.ok(lines.every((line) => /^\[ticker-[-a-z0-9]+\] tick \d+$/.test(line)), text);

    // Following: lines keep coming through the two replicas; closing stops the reads.
    const follow = new AbortController();
    const followed: string[] = [];
    try {
      for await (const chunk of onC.logs(env.namespace, name, { follow: true, tail: 0 }, follow.signal)) {
        followed.push(...chunk.trim().split('\n'));
        if (followed.length >= 6) break;
      }
    } finally {
      follow.abort();
    }
    assert.ok(followed.every((line) => / tick \d+$/.test(line)), followed.join('\n'));

    const stats = await onC.stats(env.namespace, name);
    assert.equal(stats.items.length, 2);
    for (const item of stats.items) {
      assert.ok(!('error' in item), `stats of ${item.instance}: ${JSON.stringify(item)}`);
      assert.ok('memoryBytes' in item && item.memoryBytes > 0, JSON.stringify(item));
    }

    // ---- a watcher on C sees every write made through A, in order
    const { items, metadata } = await onC.list<Secret>('secrets', { namespace: env.namespace });
    assert.equal(items.length, 0);
    const watch = onC.watch({ kind: 'Secret', namespace: env.namespace, resourceVersion: metadata.resourceVersion });
    t.after(() => watch.close());
    const count = 200;
    const seen: { name: string; revision: number }[] = [];
    const watching = (async () => {
      for await (const message of watch as AsyncIterable<WatchMessage>) {
        if (message.type !== 'ADDED' && message.type !== 'MODIFIED') continue;
        seen.push({ name: message.object.metadata.name, revision: Number(message.object.metadata.resourceVersion) });
        if (seen.length === count) return;
      }
    })();
    const secret = (i: number): Secret => ({ apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: `s-${i}` }, spec: { data: { value: `v${i}` } } }) as Secret;
    // 16 writers at once through A: their commits interleave.
    for (let start = 0; start < count; start += 16) {
      await Promise.all(Array.from({ length: Math.min(16, count - start) }, (_, k) => env.user.apply([secret(start + k)])));
    }
    await waitFor(async () => (await Promise.race([watching.then(() => true), sleep(100).then(() => false)])) || undefined, 20_000, `${count} events on C`);
    assert.deepEqual(seen.map((s) => s.name).sort(), Array.from({ length: count }, (_, i) => `s-${i}`).sort(), 'every write, once');
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.revision > seen[i - 1]!.revision, `in revision order at ${i}: ${seen[i - 1]!.revision} then ${seen[i]!.revision}`);

    // ---- a logout through A holds on B within a second, though B trusted the session a moment ago
    const session = await tenantOn(a.url);
    const asB = new LatticeClient({ server: b.url, webSocket: nodeWebSocket }).withToken(session.accessToken);
    await asB.list<Instance>('instances', { namespace: env.namespace });
    await session.client.logout();
    const loggedOut = Date.now();
    await waitFor(
      async () => {
        try {
          await asB.list<Instance>('instances', { namespace: env.namespace });
          return false;
        } catch (error) {
          return (error as { status?: number }).status === 401;
        }
      },
      5_000,
      'B to refuse the revoked session',
    );
    const tookMs = Date.now() - loggedOut;
    t.diagnostic(`timing: logout on A refused on B after ${tookMs} ms`);
    assert.ok(tookMs < 1_000, `the logout held on B after ${tookMs} ms`);

    // ---- the holder dies (the agent knows no other URL): C answers 503 saying why, not a 500
    await b.proc.kill('SIGKILL');
    await assert.rejects(
      async () => {
        for await (const _chunk of onC.logs(env.namespace, name, { tail: 1 })) break;
      },
      (error: { status?: number; message?: string }) => error.status === 503 && /agent bee/.test(error.message ?? ''),
    );
    const orphaned = await onC.stats(env.namespace, name);
    assert.ok(orphaned.items.every((item) => 'error' in item && /agent bee/.test(item.error)), JSON.stringify(orphaned.items));
    // Once C counts B dead (no heartbeat for 7 s), it says so without trying.
    const dead = await waitFor(
      async () => {
        try {
          for await (const _chunk of onC.logs(env.namespace, name, { tail: 1 })) break;
          return undefined;
        } catch (error) {
          const { status, message } = error as { status?: number; message?: string };
          return status === 503 && /which is not answering/.test(message ?? '') ? message : undefined;
        }
      },
      15_000,
      'C to count B dead',
    );
    assert.match(dead, new RegExp(`agent bee was connected to control-plane replica ${b.id}`));
  },
);

test('replicas started at once on an empty database all come up, one leading (migrations and the admin raced)', { skip: unavailable ?? false, timeout: 60_000 }, async (t) => {
  const db = await postgres!.createDatabase();
  const started = await Promise.all(['server x', 'server y', 'server z'].map((label) => startReplica(label, db, REPLICA_ENV)));
  t.after(() => Promise.all(started.map((r) => r.proc.kill())));
  await oneLeader(started);
  const { accessToken } = await new LatticeClient({ server: started[2]!.url, webSocket: nodeWebSocket }).login(ADMIN.username, ADMIN.password);
  assert.ok(accessToken, 'the configured admin exists once, on every replica');
});
