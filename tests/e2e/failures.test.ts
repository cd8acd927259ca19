// Workloads that cannot run: a crash loop (restarts counted, back-off reported, Degraded naming
// the instance) and unschedulable ones (Pending with the reason: selector, memory), which are
// placed as soon as a fitting agent joins.
import assert from 'node:assert/strict';
import { type IncomingMessage, get as httpGet } from 'node:http';
import type { Event } from '../../schemas/types.gen.ts';
import {
  SLEEPER,
  e2eTest,
  findPids,
  getAgent,
  getWorkload,
  listInstances,
  scriptWorkload,
  sleep,
  timing,
  unschedulableReason,
  waitFor,
} from './support.ts';

e2eTest('crash loop: restarts are counted, the message says back-off, the Workload is Degraded naming the instance', { timeout: 90_000 }, async (env) => {
  const { t, user, namespace: ns } = env;
  await env.startAgent({ name: 'solo' });
  const marker = env.marker('crash');
  const applied = Date.now();
  await user.apply([scriptWorkload('crasher', marker, 'process.exit(1)')]);

  const degraded = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, 'crasher');
      return w?.status?.phase === 'Degraded' ? w : undefined;
    },
    20_000,
    'crasher to be Degraded',
  );
  timing(t, 'apply → Degraded (first crash)', applied);
  const [instance] = await listInstances(user, ns, 'crasher');
  assert.ok(instance, 'an instance exists');
  const progressing = degraded.status?.conditions?.find((c) => c.type === 'Progressing');
  assert.equal(progressing?.reason, 'InstanceFailing');
  assert.ok(progressing?.message?.includes(instance.metadata.name), `the condition names the instance: ${progressing?.message}`);
  assert.match(progressing?.message ?? '', /back-off/);
  assert.equal(degraded.status?.readyReplicas, 0);
  assert.equal(degraded.status?.endpoints, undefined);
  const warning = await waitFor(
    async () => (await user.list<Event>('events', { namespace: ns, fieldSelector: 'involvedObject.kind=Workload,involvedObject.name=crasher' })).items.find((e) => e.spec.reason === 'InstanceFailing'),
    10_000,
    'an InstanceFailing event',
  );
  assert.equal(warning.spec.type, 'Warning');
  assert.ok(warning.spec.message?.includes(instance.metadata.name), `the event names the instance: ${warning.spec.message}`);

  // The first restart comes after the 10 s back-off (the process then runs for a moment).
  await waitFor(
    async () => {
      const [i] = await listInstances(user, ns, 'crasher');
      return (i?.status?.restarts ?? 0) > 0;
    },
    40_000,
    'a restart to be counted',
  );
  const toRestart = timing(t, 'apply → first restart counted', applied);
  assert.ok(toRestart <= 25_000, `the first restart within back-off 10 s + slack (took ${toRestart} ms)`);
  // ...and it crashes again: Failed, exit code 1, a longer back-off.
  const crashedAgain = await waitFor(
    async () => {
      const [i] = await listInstances(user, ns, 'crasher');
      return (i?.status?.restarts ?? 0) > 0 && i?.status?.state === 'Failed' ? i : undefined;
    },
    10_000,
    'the restarted process to fail again',
  );
  assert.equal(crashedAgain.metadata.uid, instance.metadata.uid, 'restarted in place by the agent, not replaced');
  assert.equal(crashedAgain.status?.exitCode, 1);
  assert.match(crashedAgain.status?.message ?? '', /back-off \d+(\.\d+)?s restarting failed process \(exit code 1\)/);
  await waitFor(
    async () => {
      const w = await getWorkload(user, ns, 'crasher');
      return w?.status?.phase === 'Degraded' && w.status.conditions?.some((c) => c.type === 'Progressing' && c.message?.includes(instance.metadata.name) && /back-off 20s/.test(c.message));
    },
    10_000,
    'the Degraded message to show the doubled back-off',
  );
  assert.deepEqual(findPids(marker), [], 'the crashing process is not running between attempts');
});

e2eTest('unschedulable: a selector no agent matches and a memory request no agent has stay Pending with the reason; a matching agent joining takes the first', { timeout: 90_000 }, async (env) => {
  const { t, user, namespace: ns } = env;
  await env.startAgent({ name: 'plain' });
  const pickyMarker = env.marker('picky');
  const hugeMarker = env.marker('huge');
  await user.apply([
    scriptWorkload('picky', pickyMarker, SLEEPER, { placement: { agentSelector: { zone: 'mars' } } }),
    scriptWorkload('huge', hugeMarker, SLEEPER, { resources: { memory: '100Ti' } }),
  ]);

  const pending = async (name: string, mentions: RegExp) =>
    waitFor(
      async () => {
        const w = await getWorkload(user, ns, name);
        const instances = await listInstances(user, ns, name);
        const progressing = w?.status?.conditions?.find((c) => c.type === 'Progressing');
        const ok =
          w?.status?.phase === 'Pending' &&
          progressing?.reason === 'Unschedulable' &&
          mentions.test(progressing.message ?? '') &&
          instances.length === 1 &&
          instances.every((i) => i.status?.state === 'Pending' && i.spec.agent === undefined && mentions.test(i.status.message ?? ''));
        return ok ? { w, instances, progressing } : undefined;
      },
      20_000,
      `${name} to be Pending with a reason matching ${mentions}`,
    );
  const picky = await pending('picky', /placement\.agentSelector zone=mars/);
  env.note(`picky: ${picky.progressing.message}`);
  const huge = await pending('huge', /memory/);
  env.note(`huge: ${huge.progressing.message}`);
  assert.match(huge.progressing.message!, /needs 100Ti/);

  // Still so a moment later (nothing flaps, nothing runs).
  await sleep(1_500);
  assert.equal((await getWorkload(user, ns, 'picky'))?.status?.phase, 'Pending');
  assert.equal((await getWorkload(user, ns, 'huge'))?.status?.phase, 'Pending');
  assert.deepEqual(findPids(pickyMarker), []);
  assert.deepEqual(findPids(hugeMarker), []);

  // An agent with zone=mars joins: picky is placed there (retried when agents change); huge still fits nowhere.
  const joined = Date.now();
  await env.startAgent({ name: 'rover', labels: { zone: 'mars' } });
  const placed = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, 'picky');
      const instances = await listInstances(user, ns, 'picky');
      return w?.status?.phase === 'Running' && instances.length === 1 && instances[0]!.spec.agent === 'rover' ? instances[0] : undefined;
    },
    20_000,
    'picky to run on rover',
  );
  timing(t, 'matching agent Ready → Pending workload Running on it', joined);
  assert.equal(placed.metadata.uid, picky.instances[0]!.metadata.uid, 'the waiting instance was bound, not replaced');
  assert.equal(findPids(pickyMarker).length, 1);
  const stillHuge = await getWorkload(user, ns, 'huge');
  assert.equal(stillHuge?.status?.phase, 'Pending');
  assert.match(stillHuge?.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '', /0\/2 agents .*memory/);
});

e2eTest("trust: a shared agent runs only its owner's process workloads unless it opted in; the Agent shows the opt-in", { timeout: 90_000 }, async (env) => {
  const { admin, user, namespace: ns } = env;
  // Joined with the admin's token: a shared agent the admin runs, started without --allow-tenant-processes.
  await env.startAgent({ name: 'owned', trustTenants: false });
  assert.equal((await getAgent(admin, 'owned'))?.spec.joinedBy, 'root-admin');
  assert.equal((await getAgent(user, 'owned'))?.status?.tenantProcesses, false, 'a tenant sees that this agent keeps processes to its owner');
  const strangerMarker = env.marker('stranger');
  await user.apply([scriptWorkload('stranger', strangerMarker, SLEEPER)]);
  assert.equal(await unschedulableReason(user, ns, 'stranger'), '0/1 agents can run it: 1 runs processes only for its owner');
  assert.deepEqual(findPids(strangerMarker), [], 'nothing of the tenant ran on the shared agent');

  // The owner's own process workload runs there.
  const ownMarker = env.marker('own');
  await admin.apply([scriptWorkload('own', ownMarker, SLEEPER)]);
  await waitFor(async () => (await getWorkload(admin, 'root-admin', 'own'))?.status?.phase === 'Running', 20_000, "the owner's workload Running");
  assert.equal(findPids(ownMarker).length, 1);

  // An agent whose owner opted in takes the tenant's workload, and says so.
  await env.startAgent({ name: 'open-house' });
  assert.equal((await getAgent(user, 'open-house'))?.status?.tenantProcesses, true);
  const placed = await waitFor(async () => (await listInstances(user, ns, 'stranger')).find((i) => i.status?.state === 'Running'), 20_000, 'the tenant workload Running on open-house');
  assert.equal(placed.spec.agent, 'open-house');
  assert.equal(findPids(strangerMarker).length, 1);
});

e2eTest('a secretKeyRef to a key the Secret lacks waits with the reason, even for a key named like a property of every object ("constructor")', { timeout: 60_000 }, async (env) => {
  const { user, namespace: ns } = env;
  await env.startAgent({ name: 'keeper' });
  const marker = env.marker('keyed');
  const secret = { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'creds' }, spec: { data: { user: 'app' } } };
  const workload = scriptWorkload('keyed', marker, "console.log('value=' + process.env.CTOR); setInterval(() => {}, 1 << 30)", {
    env: [{ name: 'CTOR', valueFrom: { secretKeyRef: { name: 'creds', key: 'constructor' } } }],
  });
  await user.apply([secret, workload]);
  const waiting = await waitFor(
    async () => (await listInstances(user, ns, 'keyed')).find((i) => /waiting for key constructor in secret creds/.test(i.status?.message ?? '')),
    20_000,
    'the instance to wait for the key',
  );
  assert.equal(waiting.status?.state, 'Pending');
  await sleep(1_000);
  assert.deepEqual(findPids(marker), [], 'it did not start with an empty value');

  await user.apply([{ ...secret, spec: { data: { user: 'app', constructor: 'c0nstruct' } } }]);
  await waitFor(async () => (await getWorkload(user, ns, 'keyed'))?.status?.phase === 'Running', 20_000, 'keyed Running once the key exists');
  const log = async () => {
    let text = '';
    for await (const chunk of user.logs(ns, 'keyed')) text += chunk;
    return text;
  };
  await waitFor(async () => (await log()).includes('value=c0nstruct'), 10_000, 'the process got the value');
});

e2eTest('a followed log stream whose reader stops: the agent stops reading the log, and when the reader goes on it gets every line from where it stopped, nothing cut', { timeout: 90_000 }, async (env) => {
  const { user, namespace: ns, url } = env;
  await env.startAgent({ name: 'chatty-host' });
  const marker = env.marker('chatty');
  // About 4 MB a second of numbered lines.
  await user.apply([scriptWorkload('chatty', marker, "let i = 0; const pad = 'x'.repeat(4000); setInterval(() => { for (let k = 0; k < 10; k++) console.log(String(i++).padStart(8, '0') + ' ' + pad); }, 10)")]);
  await waitFor(async () => (await getWorkload(user, ns, 'chatty'))?.status?.phase === 'Running', 20_000, 'chatty Running');

  // A reader that stops: its response paused, so the kernel buffers fill and the server cannot write.
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpGet(`${url}/api/v1/namespaces/${ns}/workloads/chatty/logs?follow=true&tail=0`, { headers: { authorization: `Bearer ${user.options.token}` } }, resolve);
    request.on('error', reject);
    env.cleanup(() => void request.destroy());
  });
  assert.equal(response.statusCode, 200);
  response.pause();
  // Long enough for far more than the kernel buffers and every window to be logged (~24 MB).
  await sleep(6_000);
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (text += chunk));
  response.resume();
  await sleep(3_000);
  response.destroy();
  assert.ok(!text.includes('(log stream'), `the stream was neither cut nor ended: ${/\(log stream[^\n]*/.exec(text)?.[0]}`);
  const numbers = text.split('\n').slice(0, -1).map((line) => Number(/^(\d{8}) x+$/.exec(line)?.[1]));
  assert.ok(numbers.length > 1_000, `the reader got ${numbers.length} lines`);
  numbers.forEach((n, i) => i > 0 && assert.equal(n, numbers[i - 1]! + 1, `line ${i} follows line ${i - 1}: nothing lost while the reader stopped`));
});
