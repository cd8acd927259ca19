// The whole loop on one real agent process: apply → Running → endpoint answers; scale up and
// down; a rolling update that never leaves zero ready replicas; delete → processes gone. Then
// rollouts of 3 replicas: surge 1 / unavailable 0, a broken template, a roll-back.
import assert from 'node:assert/strict';
import type { Instance, WatchMessage, Workload } from '../../schemas/types.gen.ts';
import { NODE, e2eTest, findPids, getWorkload, helloWorkload, httpText, listInstances, sleep, timing, waitFor } from './support.ts';

e2eTest('hello.yaml: apply → Running, scale 1→3→1, rolling update keeps a ready replica, delete stops everything', { timeout: 150_000 }, async (env) => {
  const { t, user, namespace: ns } = env;
  await env.startAgent({ name: 'solo' });
  const marker = env.marker('hello');
  const name = 'hello';

  // ---- apply → Running, endpoint answers
  const applied = Date.now();
  const result = await user.apply([helloWorkload({ name, marker })]);
  assert.equal(result.results[0]?.action, 'created');
  const running = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      return w?.status?.phase === 'Running' && w.status.endpoints?.length ? w : undefined;
    },
    30_000,
    'hello to be Running with an endpoint',
  );
  const toRunning = timing(t, 'apply → Running (1 replica)', applied);
  assert.ok(toRunning <= 15_000, `apply → Running took ${toRunning} ms (bound ~15 s)`);
  assert.equal(running.status?.readyReplicas, 1);
  const url = running.status!.endpoints![0]!.url;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match((await httpText(url)) ?? '(no answer)', /hello from lattice \(world\)/);
  assert.equal(findPids(marker).length, 1, 'one workload process runs');

  // ---- scale 1 → 3
  const scaled = Date.now();
  await user.apply([helloWorkload({ name, marker, replicas: 3 })]);
  const three = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      const instances = await listInstances(user, ns, name);
      const ok = w?.status?.phase === 'Running' && w.status.readyReplicas === 3 && w.status.endpoints?.length === 3 && instances.length === 3 && instances.every((i) => i.status?.state === 'Running');
      return ok ? { w, instances } : undefined;
    },
    30_000,
    'hello to run 3 ready replicas',
  );
  timing(t, 'scale 1 → 3 Running', scaled);
  const urls = three.w.status!.endpoints!.map((e) => e.url);
  assert.equal(new Set(urls).size, 3, `3 distinct endpoints: ${urls.join(' ')}`);
  for (const endpoint of urls) assert.match((await httpText(endpoint)) ?? `(no answer from ${endpoint})`, /hello from lattice \(world\)/);
  assert.equal(new Set(three.instances.map((i) => i.metadata.uid)).size, 3);
  await waitFor(() => findPids(marker).length === 3, 10_000, '3 workload processes');

  // ---- scale 3 → 1
  const down = Date.now();
  await user.apply([helloWorkload({ name, marker, replicas: 1 })]);
  await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      const instances = await listInstances(user, ns, name);
      return w?.status?.phase === 'Running' && w.status.readyReplicas === 1 && instances.length === 1 && findPids(marker).length === 1;
    },
    30_000,
    'hello back to 1 replica (2 instances and their processes gone)',
  );
  timing(t, 'scale 3 → 1 converged (processes stopped)', down);
  const [survivor] = await listInstances(user, ns, name);
  const oldPids = findPids(marker);

  // ---- rolling update: GREETING changes; readyReplicas never drops to 0 (watched, every revision)
  const before = await getWorkload(user, ns, name);
  const watch = user.watch({ kind: 'Workload', namespace: ns, resourceVersion: before!.metadata.resourceVersion });
  const seen: { rv: string; ready: number | undefined; phase: string | undefined; updated: number | undefined }[] = [];
  const watching = (async () => {
    for await (const message of watch as AsyncIterable<WatchMessage>) {
      if (message.type !== 'MODIFIED' && message.type !== 'ADDED') continue;
      const w = message.object as Workload;
      if (w.metadata.name !== name) continue;
      seen.push({ rv: w.metadata.resourceVersion!, ready: w.status?.readyReplicas, phase: w.status?.phase, updated: w.status?.updatedReplicas });
    }
  })();
  const rolled = Date.now();
  await user.apply([helloWorkload({ name, marker, replicas: 1, greeting: 'mars' })]);
  const done = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      const instances = await listInstances(user, ns, name);
      if (!(w?.status?.phase === 'Running' && w.status.observedGeneration === w.metadata.generation && w.status.updatedReplicas === 1 && instances.length === 1)) return undefined;
      const endpoint = w.status.endpoints?.[0]?.url;
      const text = endpoint && (await httpText(endpoint));
      return text && /hello from lattice \(mars\)/.test(text) ? { w, instances } : undefined;
    },
    40_000,
    'the rollout to finish with the endpoint saying mars',
  );
  timing(t, 'rolling update (GREETING) done', rolled);
  await sleep(300); // the last events reach the watch
  watch.close();
  await watching;
  env.note(`rollout statuses: ${JSON.stringify(seen)}`);
  assert.ok(seen.length > 0, 'the watch saw the rollout');
  let wasReady = (before?.status?.readyReplicas ?? 0) >= 1;
  for (const s of seen) {
    if (wasReady) assert.ok((s.ready ?? 0) >= 1, `readyReplicas dropped to ${s.ready} at revision ${s.rv} during the rollout: ${JSON.stringify(seen)}`);
    if ((s.ready ?? 0) >= 1) wasReady = true;
  }
  assert.notEqual(done.instances[0]!.metadata.uid, survivor!.metadata.uid, 'a new instance replaced the old one');
  await waitFor(() => findPids(marker).length === 1, 15_000, 'the old process to be stopped');
  for (const pid of oldPids) assert.ok(!findPids(marker).includes(pid), `old process ${pid} is gone`);

  // ---- delete: processes, Workload and Instances disappear
  const deleted = Date.now();
  await user.delete('workloads', ns, name);
  await waitFor(
    async () => findPids(marker).length === 0 && (await getWorkload(user, ns, name)) === undefined && (await listInstances(user, ns, name)).length === 0,
    30_000,
    'the workload, its instances and its processes to be gone',
  );
  timing(t, 'delete → everything gone', deleted);
  assert.deepEqual(findPids(marker), []);
});

e2eTest('3 replicas: a rollout surges by 1 and never goes below 3 ready; a broken template keeps the old ones serving; rolling back restores without restarts', { timeout: 120_000 }, async (env) => {
  const { t, user, namespace: ns } = env;
  const agent = await env.startAgent({ name: 'solo' });
  const marker = env.marker('three');
  const name = 'trio';
  const readyAll = async (greeting: string) =>
    waitFor(
      async () => {
        const w = await getWorkload(user, ns, name);
        const instances = await listInstances(user, ns, name);
        if (!(w?.status?.phase === 'Running' && w.status.observedGeneration === w.metadata.generation && w.status.readyReplicas === 3 && w.status.updatedReplicas === 3 && instances.length === 3)) return undefined;
        const texts = await Promise.all((w.status.endpoints ?? []).map((e) => httpText(e.url)));
        return texts.length === 3 && texts.every((x) => x?.includes(`(${greeting})`)) ? { w, instances } : undefined;
      },
      40_000,
      `${name} to run 3 ready replicas saying ${greeting}`,
    );
  // Every Instance ever created. Regression: the controller used to act on a cache that had not
  // seen its own creations yet (a 2-replica apply created 3 Instances, a 3-replica one up to 5;
  // the extras were deployed, then stopped).
  const initial = await user.list<Instance>('instances', { namespace: ns });
  const instanceWatch = user.watch({ kind: 'Instance', namespace: ns, resourceVersion: initial.metadata.resourceVersion });
  env.cleanup(() => instanceWatch.close());
  const added: string[] = [];
  const watchingInstances = (async () => {
    for await (const message of instanceWatch as AsyncIterable<WatchMessage>) if (message.type === 'ADDED') added.push((message.object as Instance).metadata.name);
  })();
  await user.apply([helloWorkload({ name, marker, replicas: 3 })]);
  await readyAll('world');
  await sleep(300);
  instanceWatch.close();
  await watchingInstances;
  env.note(`instances created for 3 replicas: ${JSON.stringify(added)}`);
  assert.equal(added.length, 3, `exactly 3 Instances created: ${added.join(', ')}`);
  assert.equal(agent.output().split('\n').filter((line) => line.includes(`: deploy tenant/${name}-`)).length, 3, 'exactly 3 deploys');
  assert.doesNotMatch(agent.output(), /: stop /, 'nothing stopped');

  // ---- rollout: every Workload revision has ≥ 3 ready and ≤ 4 live
  const before = await getWorkload(user, ns, name);
  const watch = user.watch({ kind: 'Workload', namespace: ns, resourceVersion: before!.metadata.resourceVersion });
  env.cleanup(() => watch.close());
  const seen: { ready: number; live: number; updated: number }[] = [];
  const watching = (async () => {
    for await (const message of watch as AsyncIterable<WatchMessage>) {
      if (message.type !== 'MODIFIED') continue;
      const w = message.object as Workload;
      seen.push({ ready: w.status?.readyReplicas ?? 0, live: w.status?.replicas ?? 0, updated: w.status?.updatedReplicas ?? 0 });
    }
  })();
  const rolled = Date.now();
  await user.apply([helloWorkload({ name, marker, replicas: 3, greeting: 'mars' })]);
  const mars = await readyAll('mars');
  timing(t, 'rolling update of 3 replicas done', rolled);
  await sleep(300);
  watch.close();
  await watching;
  env.note(`rollout statuses: ${JSON.stringify(seen)}`);
  assert.ok(seen.some((s) => s.updated > 0 && s.updated < 3), 'the watch saw the rollout in progress');
  for (const s of seen) {
    assert.ok(s.ready >= 3, `ready replicas never below 3 (unavailable 0): ${JSON.stringify(seen)}`);
    assert.ok(s.live <= 4, `at most 4 live (surge 1): ${JSON.stringify(seen)}`);
  }
  await waitFor(() => findPids(marker).length === 3, 15_000, 'the 3 old processes to be stopped');
  const goodPids = findPids(marker);

  // ---- a template whose process exits at once: the 3 ready ones stay, the Workload says Degraded
  const broken = helloWorkload({ name, marker, replicas: 3, greeting: 'broken' });
  broken.spec.command = [NODE, '-e', 'process.exit(3)'];
  await user.apply([broken]);
  const degraded = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, name);
      return w?.status?.phase === 'Degraded' ? w : undefined;
    },
    20_000,
    `${name} to be Degraded`,
  );
  assert.match(degraded.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '', /exit code 3/);
  await sleep(2_000); // no further progress is made while the new instance fails
  const during = await getWorkload(user, ns, name);
  const instances = await listInstances(user, ns, name);
  assert.equal(during?.status?.readyReplicas, 3, 'the 3 old replicas stay ready');
  assert.equal(instances.length, 4, 'the old 3 and one new (surge 1), no more');
  for (const e of during!.status!.endpoints!) assert.match((await httpText(e.url)) ?? `(no answer from ${e.url})`, /\(mars\)/);
  assert.deepEqual(findPids(marker), goodPids, 'the old processes were not touched');

  // ---- rolling back to the good template: the broken instance goes, the old ones are kept as they are
  const back = Date.now();
  await user.apply([helloWorkload({ name, marker, replicas: 3, greeting: 'mars' })]);
  const restored = await readyAll('mars');
  timing(t, 'roll back to the previous template', back);
  assert.deepEqual(
    restored.instances.map((i) => i.metadata.uid).sort(),
    mars.instances.map((i) => i.metadata.uid).sort(),
    'the same 3 instances as before the broken rollout',
  );
  assert.deepEqual(findPids(marker), goodPids, 'and the same processes');
});
