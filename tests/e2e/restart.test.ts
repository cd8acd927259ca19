// Restarting the control plane (same SQLite file, same port) while workloads run: the agent
// reconnects by itself and nothing restarts — not even when the control plane was away for
// longer than the agents' grace + eviction (it was the one that was gone, not they).
import assert from 'node:assert/strict';
import type { Instance } from '../../schemas/types.gen.ts';
import {
  type AgentProcess,
  type E2E,
  agentReady,
  e2eTest,
  findPids,
  getAgent,
  getWorkload,
  helloWorkload,
  httpText,
  listInstances,
  recordedPid,
  restartableControlPlane,
  sleep,
  timing,
  waitFor,
} from './support.ts';

interface Snapshot {
  uid: string;
  pid: number | undefined;
  startedAt: string | undefined;
  restarts: number | undefined;
}

function snapshot(agent: AgentProcess, instances: readonly Instance[]): Snapshot[] {
  return instances
    .map((i) => ({ uid: i.metadata.uid!, pid: recordedPid(agent, i.metadata.uid!), startedAt: i.status?.startedAt, restarts: i.status?.restarts }))
    .sort((a, b) => a.uid.localeCompare(b.uid));
}

/** Samples the workload's process set every 100 ms until stopped; any other set is a restart. */
function watchPids(env: E2E, marker: string, expected: number[]) {
  const seen = new Set<string>();
  const expectedKey = JSON.stringify(expected);
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      seen.add(JSON.stringify(findPids(marker)));
      await sleep(100);
    }
  })();
  const stop = async (): Promise<string[]> => {
    stopped = true;
    await done;
    return [...seen].filter((key) => key !== expectedKey);
  };
  env.cleanup(async () => void (await stop())); // also when an assertion fails first
  return { stop };
}

async function runTwoReplicas(env: E2E, name: string, marker: string, agent: AgentProcess): Promise<Snapshot[]> {
  await env.user.apply([helloWorkload({ name, marker, replicas: 2 })]);
  const instances = await waitFor(
    async () => {
      const w = await getWorkload(env.user, env.namespace, name);
      const list = await listInstances(env.user, env.namespace, name);
      return w?.status?.phase === 'Running' && w.status.readyReplicas === 2 && list.length === 2 ? list : undefined;
    },
    30_000,
    `${name} to run 2 ready replicas`,
  );
  const before = snapshot(agent, instances);
  assert.ok(before.every((s) => s.pid !== undefined && s.restarts === 0), JSON.stringify(before));
  return before;
}

async function assertConvergedUnchanged(env: E2E, name: string, marker: string, agent: AgentProcess, before: Snapshot[]): Promise<void> {
  const converged = await waitFor(
    async () => {
      const w = await getWorkload(env.user, env.namespace, name);
      const list = await listInstances(env.user, env.namespace, name);
      return w?.status?.phase === 'Running' && w.status.readyReplicas === 2 && list.length === 2 ? { w, list } : undefined;
    },
    30_000,
    `${name} to be Running with 2 ready replicas after the restart`,
  );
  assert.deepEqual(snapshot(agent, converged.list), before, 'the same instances, processes, start times and restart counts as before the restart');
  assert.deepEqual(findPids(marker), before.map((s) => s.pid!).sort((a, b) => a - b));
  for (const endpoint of converged.w.status!.endpoints!) assert.match((await httpText(endpoint.url)) ?? `(no answer from ${endpoint.url})`, /hello from lattice/);
}

const connections = (agent: AgentProcess) => agent.output().split('\n').filter((line) => line.includes(': connected')).length;

{
  // grace + eviction above the agent's longest reconnect backoff (10 s): however long the agent
  // takes to come back, it is not evicted for it. The next test is about a long outage.
  const cp = restartableControlPlane({ agentTimings: { graceMs: 2_000, evictionMs: 10_000 } });
  e2eTest('control-plane restart on the same database: the agent reconnects, no workload restarts, status converges', { timeout: 90_000, controlPlane: cp.start }, async (env) => {
    const { t } = env;
    env.cleanup(() => cp.stop());
    const agent = await env.startAgent({ name: 'home' });
    const marker = env.marker('restart');
    const before = await runTwoReplicas(env, 'hello', marker, agent);
    const pids = before.map((s) => s.pid!).sort((a, b) => a - b);
    const sampler = watchPids(env, marker, pids);

    const stopped = Date.now();
    const outputBefore = agent.output().length;
    await cp.stop();
    env.note('control plane stopped');
    await sleep(500);
    assert.deepEqual(findPids(marker), pids, 'workloads keep running while the control plane is down');
    const started = Date.now();
    const next = await cp.start();
    assert.equal(next.url, env.url, 'same port');
    await env.retarget(next.url);
    env.note('control plane started again');

    await waitFor(() => connections(agent) >= 2, 15_000, 'the agent to reconnect');
    const reconnect = timing(t, 'control plane back → agent reconnected', started);
    assert.ok(reconnect <= 12_000, `the agent's backoff is ≤ 10 s (reconnected after ${reconnect} ms)`);
    assert.ok(agentReady(await waitFor(async () => { const a = await getAgent(env.admin, 'home'); return agentReady(a) ? a : undefined; }, 10_000, 'home Ready')));
    await assertConvergedUnchanged(env, 'hello', marker, agent, before);
    timing(t, 'control plane stopped → status Running again', stopped);
    // A late redeploy or stop would show up here.
    await sleep(1_500);
    await assertConvergedUnchanged(env, 'hello', marker, agent, before);
    const changes = await sampler.stop();
    assert.deepEqual(changes, [], `the workload's process set never changed (expected ${JSON.stringify(pids)})`);
    const since = agent.output().slice(outputBefore);
    assert.doesNotMatch(since, /: (deploy|stop) /, 'no deploy or stop reached the agent after the restart');
  });
}

{
  // An outage longer than grace + eviction. grace + eviction (11 s) exceeds the agent's longest
  // reconnect backoff (10 s), so a control plane that gives agents their grace back from its own
  // start keeps every instance. (It used not to: on restart every instance was Lost at once.)
  const timings = { graceMs: 2_000, evictionMs: 9_000 };
  const outageMs = timings.graceMs + timings.evictionMs + 1_500;
  const cp = restartableControlPlane({ agentTimings: timings });
  e2eTest(
    `control plane down ${outageMs / 1000} s (> grace + eviction): on restart the agent gets its grace back and nothing restarts`,
    { timeout: 90_000, controlPlane: cp.start },
    async (env) => {
      env.cleanup(() => cp.stop());
      const agent = await env.startAgent({ name: 'home' });
      const marker = env.marker('outage');
      const before = await runTwoReplicas(env, 'hello', marker, agent);
      const pids = before.map((s) => s.pid!).sort((a, b) => a - b);
      const sampler = watchPids(env, marker, pids);

      await cp.stop();
      await sleep(outageMs);
      assert.deepEqual(findPids(marker), pids, 'workloads keep running while the control plane is down');
      const next = await cp.start();
      await env.retarget(next.url);
      await waitFor(() => connections(agent) >= 2, 15_000, 'the agent to reconnect');
      await assertConvergedUnchanged(env, 'hello', marker, agent, before);
      await sleep(2_000);
      await assertConvergedUnchanged(env, 'hello', marker, agent, before);
      const changes = await sampler.stop();
      assert.deepEqual(changes, [], `the workload's process set never changed (expected ${JSON.stringify(pids)})`);
    },
  );
}
