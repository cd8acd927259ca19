// Agents as real processes: losing one (kill -9) moves its replicas to the survivor within
// grace + eviction; when it comes back with its stored credential, the stale process it still
// ran is stopped. And a connected, heartbeating agent is never evicted.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance, WatchMessage } from '../../schemas/types.gen.ts';
import {
  AGENT_HEARTBEAT_MS,
  E2E_TIMINGS,
  SLEEPER,
  agentReady,
  e2eTest,
  findPids,
  getAgent,
  getWorkload,
  helloWorkload,
  httpText,
  isAlive,
  listInstances,
  recordedPid,
  scriptWorkload,
  sleep,
  timing,
  waitFor,
} from './support.ts';

const { graceMs, evictionMs } = E2E_TIMINGS;

e2eTest('agent loss: kill -9 → Lost → replaced on the survivor; the agent comes back and its stale process is stopped', { timeout: 120_000 }, async (env) => {
  const { t, user, admin, namespace: ns } = env;
  const north = await env.startAgent({ name: 'north' });
  const south = await env.startAgent({ name: 'south' });
  const marker = env.marker('spread');
  const name = 'spread';

  await user.apply([helloWorkload({ name, marker, replicas: 2 })]);
  const placed = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      const instances = await listInstances(user, ns, name);
      return w?.status?.phase === 'Running' && w.status.readyReplicas === 2 && instances.length === 2 ? instances : undefined;
    },
    30_000,
    'spread to run 2 ready replicas',
  );
  assert.deepEqual(placed.map((i) => i.spec.agent).sort(), ['north', 'south'], 'one replica per agent (spread)');
  const onSouth = placed.find((i) => i.spec.agent === 'south')!;
  const onNorth = placed.find((i) => i.spec.agent === 'north')!;
  const stalePid = recordedPid(south, onSouth.metadata.uid!);
  const northPid = recordedPid(north, onNorth.metadata.uid!);
  assert.ok(stalePid && isAlive(stalePid), `south's workload process runs (pid ${stalePid})`);
  assert.ok(northPid && isAlive(northPid), `north's workload process runs (pid ${northPid})`);
  assert.deepEqual(findPids(marker), [stalePid, northPid].sort((a, b) => a - b));

  // Every Instance revision from here on, with the time it arrived.
  const list = await user.list<Instance>('instances', { namespace: ns });
  const watch = user.watch({ kind: 'Instance', namespace: ns, resourceVersion: list.metadata.resourceVersion });
  const events: { at: number; uid: string; type: string; state: string | undefined; agent: string | undefined }[] = [];
  const watching = (async () => {
    for await (const message of watch as AsyncIterable<WatchMessage>) {
      if (message.type === 'BOOKMARK' || message.type === 'ERROR') continue;
      const i = message.object as Instance;
      events.push({ at: Date.now(), uid: i.metadata.uid!, type: message.type, state: i.status?.state, agent: i.spec.agent });
    }
  })();
  t.after(() => watch.close());

  // ---- kill -9 the agent holding one replica
  const killed = Date.now();
  await south.kill('SIGKILL');
  env.note(`killed agent south (pid ${south.child.pid})`);
  assert.ok(isAlive(stalePid), 'its workload process survives the agent (detached)');

  const replaced = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      const instances = (await listInstances(user, ns, name)).filter((i) => !i.metadata.deletionTimestamp);
      const ok = w?.status?.phase === 'Running' && w.status.readyReplicas === 2 && instances.length === 2 && instances.every((i) => i.spec.agent === 'north' && i.status?.state === 'Running');
      return ok ? instances : undefined;
    },
    graceMs + evictionMs + 20_000,
    'spread to be Running again with 2 ready replicas on north',
  );
  const lossToReplacement = timing(t, 'agent kill -9 → replacement Running (2/2 on the survivor)', killed);
  const lost = events.find((e) => e.uid === onSouth.metadata.uid && e.state === 'Lost');
  env.note(`instance events after the kill: ${JSON.stringify(events.map((e) => ({ ...e, at: e.at - killed })))}`);
  assert.ok(lost, `south's instance ${onSouth.metadata.name} became Lost`);
  const toLost = lost.at - killed;
  t.diagnostic(`timing: agent kill -9 → instance Lost: ${(toLost / 1000).toFixed(2)} s (grace ${graceMs} + eviction ${evictionMs} ms, heartbeat ${AGENT_HEARTBEAT_MS} ms)`);
  // The last heartbeat may have come up to one interval before the kill.
  assert.ok(toLost >= graceMs + evictionMs - AGENT_HEARTBEAT_MS - 500, `Lost only after grace + eviction (took ${toLost} ms)`);
  assert.ok(lossToReplacement <= graceMs + evictionMs + 10_000, `replacement Running within grace + eviction + 10 s (took ${lossToReplacement} ms)`);
  assert.ok(replaced.some((i) => i.metadata.uid === onNorth.metadata.uid), 'the replica on north was left alone');
  assert.ok(isAlive(northPid), 'north never restarted its process');
  const southAgent = await getAgent(admin, 'south');
  assert.equal(agentReady(southAgent), false, 'south is NotReady');
  const w = await getWorkload(user, ns, name);
  for (const endpoint of w!.status!.endpoints!) assert.match((await httpText(endpoint.url)) ?? `(no answer from ${endpoint.url})`, /hello from lattice/);

  // The lost agent still runs its old process: nobody could tell it to stop.
  assert.ok(isAlive(stalePid), 'the stale process still runs while south is away');

  // ---- south comes back with its stored credential (no join token): the stale process is stopped
  const back = Date.now();
  await env.startAgent({ name: 'south', dataDir: south.dataDir, joinToken: null });
  await waitFor(() => !isAlive(stalePid), 30_000, `the stale process ${stalePid} to be stopped`);
  const toStop = timing(t, 'lost agent back → its stale process stopped', back);
  assert.ok(toStop <= 15_000, `stale process stopped within ~15 s of the agent's return (took ${toStop} ms)`);
  await waitFor(() => findPids(marker).length === 2, 10_000, 'exactly the two replicas on north to run');
  const after = await getWorkload(user, ns, name);
  assert.equal(after?.status?.phase, 'Running');
  assert.equal(after?.status?.readyReplicas, 2);
  assert.ok(agentReady(await getAgent(admin, 'south')), 'south is Ready again');
  watch.close();
  await watching;
});

e2eTest(
  `a connected agent heartbeating every ${AGENT_HEARTBEAT_MS} ms is never evicted (grace ${graceMs} ms, eviction ${evictionMs} ms)`,
  // Regression: with the agent's old fixed 5 s heartbeat and a 2 s grace, a connected agent went
  // NotReady between heartbeats and its instance was Lost and replaced every ~5 s.
  { timeout: 60_000 },
  async (env) => {
    const { user, admin, namespace: ns } = env;
    const agent = await env.startAgent({ name: 'steady' });
    const marker = env.marker('steady');
    await user.apply([scriptWorkload('steady', marker, SLEEPER)]);
    const [first] = await waitFor(
      async () => {
        const w = await getWorkload(user, ns, 'steady');
        const instances = await listInstances(user, ns, 'steady');
        return w?.status?.phase === 'Running' && instances.length === 1 ? instances : undefined;
      },
      20_000,
      'steady to be Running',
    );
    const pid = recordedPid(agent, first!.metadata.uid!);
    assert.ok(pid && isAlive(pid));
    // Longer than grace + eviction: an agent wrongly taken for silent would have lost its instance.
    const observations: string[] = [];
    const until = Date.now() + graceMs + evictionMs + 1_000;
    while (Date.now() < until) {
      const [a, instances] = await Promise.all([getAgent(admin, 'steady'), listInstances(user, ns, 'steady')]);
      const ready = agentReady(a);
      observations.push(`${ready ? 'Ready' : 'NotReady'} ${instances.map((i) => `${i.metadata.name}:${i.status?.state}`).join(',')}`);
      if (!ready || instances.length !== 1 || instances[0]!.metadata.uid !== first!.metadata.uid) break; // already wrong: no need to watch longer
      await sleep(250);
    }
    env.note(`observations: ${JSON.stringify([...new Set(observations)])}`);
    assert.ok(!agent.hasExited(), 'the agent process stayed up');
    assert.ok(observations.every((o) => o.startsWith('Ready')), `the agent stayed Ready: ${[...new Set(observations)].join(' | ')}`);
    const now = await listInstances(user, ns, 'steady');
    assert.deepEqual(now.map((i) => i.metadata.uid), [first!.metadata.uid], 'the same instance throughout');
    assert.ok(isAlive(pid), `the same process (pid ${pid}) throughout`);
    assert.equal(now[0]!.status?.restarts, 0);
  },
);

e2eTest('a Workload deleted while its agent is away disappears after grace + eviction; the agent, back, stops the stale process', { timeout: 90_000 }, async (env) => {
  const { t, user, namespace: ns } = env;
  const away = await env.startAgent({ name: 'away' });
  const marker = env.marker('away');
  await user.apply([scriptWorkload('orphan', marker, SLEEPER)]);
  const [instance] = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, 'orphan');
      const instances = await listInstances(user, ns, 'orphan');
      return w?.status?.phase === 'Running' && instances.length === 1 ? instances : undefined;
    },
    20_000,
    'orphan to be Running',
  );
  const pid = recordedPid(away, instance!.metadata.uid!);
  assert.ok(pid && isAlive(pid));

  await away.kill('SIGKILL');
  const deleted = Date.now();
  await user.delete('workloads', ns, 'orphan');
  // Nobody can confirm the stop for now: the deletion waits (finalizers)...
  await sleep(500);
  const pendingDeletion = await getWorkload(user, ns, 'orphan');
  assert.ok(pendingDeletion?.metadata.deletionTimestamp, 'the Workload waits for its instance to be stopped');
  // ...until the agent counts as gone (grace + eviction): then everything disappears.
  await waitFor(
    async () => (await getWorkload(user, ns, 'orphan')) === undefined && (await listInstances(user, ns, 'orphan')).length === 0,
    graceMs + evictionMs + 15_000,
    'the Workload and its Instance to disappear',
  );
  const gone = timing(t, 'delete while the agent is away → Workload gone', deleted);
  assert.ok(gone <= graceMs + evictionMs + 10_000, `gone within grace + eviction + 10 s (took ${gone} ms)`);
  assert.ok(isAlive(pid), 'the process itself still runs on the unreachable machine');

  const back = Date.now();
  await env.startAgent({ name: 'away', dataDir: away.dataDir, joinToken: null });
  await waitFor(() => !isAlive(pid), 20_000, `the stale process ${pid} to be stopped`);
  timing(t, 'agent back → process of the deleted Workload stopped', back);
  assert.deepEqual(findPids(marker), []);
});

e2eTest(
  'an agent restarted (kill -9, started again) adopts its running workloads: same processes, no restarts, no deploy or stop',
  // A long eviction: the agent's own start-up (~2 s) may exceed the 2 s grace on a loaded machine.
  { timeout: 60_000, config: { agentTimings: { graceMs: 2_000, evictionMs: 10_000 } } },
  async (env) => {
    const { t, user, namespace: ns } = env;
    const first = await env.startAgent({ name: 'phoenix' });
    const marker = env.marker('phoenix');
    await user.apply([helloWorkload({ name: 'nest', marker, replicas: 2 })]);
    const instances = await waitFor(
      async () => {
        const w = await getWorkload(user, ns, 'nest');
        const list = await listInstances(user, ns, 'nest');
        return w?.status?.phase === 'Running' && w.status.readyReplicas === 2 && list.length === 2 ? list : undefined;
      },
      20_000,
      'nest to run 2 ready replicas',
    );
    const pids = findPids(marker);
    assert.equal(pids.length, 2);

    await first.kill('SIGKILL');
    const restarted = Date.now();
    const second = await env.startAgent({ name: 'phoenix', dataDir: first.dataDir, joinToken: null });
    timing(t, 'agent kill -9 → restarted agent Ready', restarted);
    await sleep(2_000); // reports and a sync round after the hello
    const w = await getWorkload(user, ns, 'nest');
    const after = await listInstances(user, ns, 'nest');
    assert.equal(w?.status?.phase, 'Running');
    assert.equal(w?.status?.readyReplicas, 2);
    assert.deepEqual(after.map((i) => i.metadata.uid).sort(), instances.map((i) => i.metadata.uid).sort(), 'the same instances');
    assert.ok(after.every((i) => i.status?.restarts === 0 && i.status.state === 'Running'), JSON.stringify(after.map((i) => i.status)));
    assert.deepEqual(findPids(marker), pids, 'the same processes, adopted');
    assert.doesNotMatch(second.output(), /: (deploy|stop) /, 'no deploy or stop reached the restarted agent');
    for (const e of w!.status!.endpoints!) assert.match((await httpText(e.url)) ?? `(no answer from ${e.url})`, /hello from lattice/);
  },
);

e2eTest('one agent per data directory: a second agent on it exits at once naming the first, which keeps its connection and its workload', { timeout: 60_000 }, async (env) => {
  const { user, namespace: ns } = env;
  const first = await env.startAgent({ name: 'holder' });
  const marker = env.marker('kept');
  await user.apply([scriptWorkload('kept', marker, SLEEPER)]);
  await waitFor(async () => (await getWorkload(user, ns, 'kept'))?.status?.phase === 'Running', 20_000, 'kept Running');
  const [pid] = findPids(marker);

  // The same directory, under the same name and another: both refused before they touch anything.
  for (const name of ['holder', 'intruder']) {
    const second = env.spawn(`second agent ${name}`, ['agent', '--server', env.url, '--name', name, '--data-dir', first.dataDir, '--join-token', env.joinToken]);
    const { code } = await second.exited;
    assert.notEqual(code, 0);
    assert.match(second.output(), new RegExp(`${first.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another agent \\(pid ${first.child.pid}: a \`lattice agent\` or \`lattice up\`\\)`));
  }
  await sleep(1_000);
  assert.ok(agentReady(await getAgent(env.admin, 'holder')), 'the first agent is still connected');
  assert.equal(await getAgent(env.admin, 'intruder'), undefined, 'the second never joined');
  assert.deepEqual(findPids(marker), [pid], 'its workload runs on, the same process');

  // Once the first is gone (even by kill -9), the directory is free again.
  await first.kill('SIGKILL');
  const again = await env.startAgent({ name: 'holder', dataDir: first.dataDir, joinToken: null });
  assert.ok(again.output().includes('agent holder: connected'));
});

e2eTest('volumes with reclaimPolicy Delete go from the agent when their workload is deleted, not on a scale-down; Retain ones stay', { timeout: 60_000 }, async (env) => {
  const { user, namespace: ns } = env;
  const agent = await env.startAgent({ name: 'keeper' });
  const name = 'scratchpad';
  const volumes = [
    { name: 'cache', mountPath: '/cache', reclaimPolicy: 'Delete' as const },
    { name: 'data', mountPath: '/data' },
  ];
  const write = "require('fs').writeFileSync(require('path').join(process.env.LATTICE_VOLUME_CACHE, 'note'), 'x'); setInterval(() => {}, 1 << 30)";
  const workload = (replicas: number) => scriptWorkload(name, env.marker('vol'), write, { replicas, volumes });
  const dir = (volume: string) => join(agent.dataDir, 'process', 'volumes', `${ns}.${name}.${volume}`);
  await user.apply([workload(2)]);
  await waitFor(async () => (await getWorkload(user, ns, name))?.status?.readyReplicas === 2 && existsSync(join(dir('cache'), 'note')), 30_000, 'two replicas writing to their volume');

  await user.apply([workload(1)]);
  await waitFor(async () => (await listInstances(user, ns, name)).length === 1, 20_000, 'the scale-down');
  assert.ok(existsSync(join(dir('cache'), 'note')), 'a scale-down keeps the data');

  await user.delete('workloads', ns, name);
  await waitFor(async () => !(await getWorkload(user, ns, name)), 20_000, 'the workload to be gone');
  await waitFor(() => !existsSync(dir('cache')), 10_000, 'the Delete volume to be removed');
  assert.ok(existsSync(dir('data')), 'the Retain volume stays');
});
