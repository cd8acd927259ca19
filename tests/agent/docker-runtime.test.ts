// The docker runtime against a real Docker engine (a private dockerd started by the test, host
// networking, the test image built from busybox-static): containers and their labels, env,
// limits and volumes; endpoints and exec health checks; adoption after a restart; crash-loop
// restarts with logs --previous; follow; stats; a pull that fails. Only loopback.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { DockerRuntime, type DockerRuntimeOptions } from '../../agent/runtime/docker/docker-runtime.ts';
import type { DeploySpec, ObservedInstance } from '../../agent/runtime/types.ts';
import type { WorkloadSpec } from '../../schemas/types.gen.ts';
import { dockerUnavailableReason, registryUnavailableReason, startDocker, startRegistry, type TestDocker } from '../support/docker.ts';
import { collect, freePort, waitFor } from './process-helpers.ts';

const unavailable = dockerUnavailableReason();
if (unavailable) console.log(`# skipping the docker runtime tests: ${unavailable}`);

let engine: TestDocker;
before(async () => {
  if (!unavailable) engine = await startDocker();
});
after(async () => {
  await engine?.stop();
});

let counter = 0;
function spec(template: Omit<WorkloadSpec, 'image'>, options: { env?: Record<string, string>; workload?: string; namespace?: string } = {}): DeploySpec {
  counter += 1;
  return {
    uid: `docker-${process.pid}-${counter}`,
    name: `web-${process.pid}-${counter}`,
    namespace: options.namespace ?? 'team-a',
    workload: options.workload ?? `web-${counter}`,
    templateHash: 'h1',
    template: { image: engine.image, ...template },
    env: options.env ?? {},
  };
}

async function openRuntime(t: TestContext, options: Partial<DockerRuntimeOptions> = {}): Promise<DockerRuntime> {
  const runtime = await DockerRuntime.open({
    docker: engine.docker,
    network: 'host',
    stopGraceMs: 1_000,
    backoff: { initialMs: 200, maxMs: 2_000 },
    healthIntervalScale: 0.2,
    healthTimeoutMs: 2_000,
    ...options,
  });
  t.after(async () => {
    for (const instance of runtime.list()) await runtime.stop(instance.uid).catch(() => undefined);
    await runtime.close();
  });
  return runtime;
}

function observed(runtime: DockerRuntime, uid: string): ObservedInstance | undefined {
  return runtime.list().find((i) => i.uid === uid);
}

/** busybox httpd serving "hello <GREETING>" on $PORT. */
function httpd(port: number, extra: Partial<WorkloadSpec> = {}): Omit<WorkloadSpec, 'image'> {
  return {
    command: ['sh', '-c', 'mkdir -p /www && echo "hello $GREETING" > /www/index.html && echo serving on $PORT && exec httpd -f -p $PORT -h /www'],
    env: [{ name: 'GREETING', value: 'unused' }],
    ports: [{ name: 'http', containerPort: port, protocol: 'http', expose: 'host' }],
    ...extra,
  };
}

test('deploy: a labelled container with env, limits and a named volume; its endpoint answers; an exec health check runs inside it; stop removes it, the volume stays', { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  const port = await freePort();
  const instance = spec(
    httpd(port, {
      env: [{ name: 'GREETING', valueFrom: { secretKeyRef: { name: 'creds', key: 'greeting' } } }],
      resources: { cpu: '250m', memory: '64Mi' },
      volumes: [{ name: 'data', mountPath: '/data' }],
      healthCheck: { exec: { command: ['test', '-f', '/www/index.html'] }, intervalSeconds: 1 },
    }),
    { env: { GREETING: 'from docker' }, workload: 'web' },
  );
  await runtime.deploy(instance);
  const running = await waitFor(() => {
    const o = observed(runtime, instance.uid);
    return o?.state === 'Running' && o.health === 'Healthy' && o;
  }, 'the instance to be Running and Healthy', 30_000);
  assert.deepEqual(running.endpoints, [{ port: 'http', url: `http://127.0.0.1:${port}`, expose: 'host' }]);
  assert.equal(await (await fetch(running.endpoints[0]!.url)).text(), 'hello from docker\n');

  const [container] = await engine.latticeContainers(`lattice.instance=${instance.uid}`);
  assert.ok(container, 'one container carries the instance label');
  const info = await engine.docker.getContainer(container.Id).inspect();
  assert.equal(info.Config.Labels['lattice.workload'], 'team-a/web');
  assert.ok(info.Config.Env.includes('GREETING=from docker'), 'the resolved env is in the container');
  assert.ok(info.Config.Env.includes(`PORT=${port}`));
  assert.equal(info.HostConfig.NanoCpus, 250_000_000);
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(info.HostConfig.NetworkMode, 'host');
  assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges']);
  assert.equal(info.HostConfig.PidsLimit, 1024);
  assert.equal(info.HostConfig.Privileged, false);
  assert.deepEqual(info.Mounts.map((m) => [m.Type, m.Name, m.Destination]), [['volume', 'lattice.team-a.web.data', '/data']]);
  assert.ok(!(info.Config.Labels['lattice.spec'] ?? '').includes('from docker'), 'the env (which may hold secrets) is not in a label');

  await runtime.stop(instance.uid);
  assert.deepEqual(await engine.latticeContainers(`lattice.instance=${instance.uid}`), [], 'no container of the instance remains');
  assert.equal(observed(runtime, instance.uid), undefined);
  const volume = await engine.docker.getVolume('lattice.team-a.web.data').inspect();
  assert.equal(volume.Name, 'lattice.team-a.web.data', 'the named volume survives the instance');
  assert.deepEqual(volume.Labels, { 'lattice.workload': 'team-a/web', 'lattice.volume': 'data' }, 'it carries whose it is');
});

test('volumes: names that once collided (bob/ice-db, bob-ice/db) are two volumes; a volume labelled for another workload is never mounted', { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  const volume = { volumes: [{ name: 'data', mountPath: '/data' }] };
  const bob = spec({ command: ['sh', '-c', 'echo bob > /data/owner && echo written && exec sleep 300'], ...volume }, { namespace: 'bob', workload: 'ice-db' });
  await runtime.deploy(bob);
  await waitFor(async () => (await collect(runtime.logs(bob.uid))).includes('written'), "bob's file written", 30_000);
  const reader = (namespace: string, workload: string) => spec({ command: ['sh', '-c', 'cat /data/owner 2>/dev/null || echo empty; exec sleep 300'], ...volume }, { namespace, workload });
  const bobIce = reader('bob-ice', 'db');
  await runtime.deploy(bobIce);
  await waitFor(async () => (await collect(runtime.logs(bobIce.uid))).length > 0, "bob-ice's first line", 30_000);
  assert.deepEqual(await collect(runtime.logs(bobIce.uid)), ['empty'], "bob-ice's volume is its own: it never sees bob's file");
  const volumes = (await engine.docker.listVolumes()).Volumes.filter((v) => v.Name.startsWith('lattice.bob')).map((v) => v.Name).sort();
  assert.deepEqual(volumes, ['lattice.bob-ice.db.data', 'lattice.bob.ice-db.data']);

  // A volume of that name made by someone else (by hand, or labelled for another workload): Failed, not mounted.
  await engine.docker.createVolume({ Name: 'lattice.carol.db.data', Labels: { 'lattice.workload': 'mallory/db', 'lattice.volume': 'data' } });
  const carol = reader('carol', 'db');
  await runtime.deploy(carol);
  const failed = await waitFor(() => {
    const o = observed(runtime, carol.uid);
    return o?.state === 'Failed' && o;
  }, 'Failed', 30_000);
  assert.match(failed.message ?? '', /volume lattice\.carol\.db\.data exists but belongs to mallory\/db; it is not mounted/);
  assert.deepEqual(await engine.latticeContainers(`lattice.instance=${carol.uid}`), [], 'no container was created');
  for (const instance of [bob, bobIce, carol]) await runtime.stop(instance.uid);
});

test("volumes: workingDir is the container's; reclaimVolumes removes the Delete ones once the workload has no instance, never a Retain one", { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  const template: Omit<WorkloadSpec, 'image'> = {
    command: ['sh', '-c', 'pwd && exec sleep 300'],
    workingDir: '/scratch',
    volumes: [
      { name: 'scratch', mountPath: '/scratch', reclaimPolicy: 'Delete' },
      { name: 'data', mountPath: '/data' },
    ],
  };
  const first = spec(template, { namespace: 'dora', workload: 'notes' });
  await runtime.deploy(first);
  await waitFor(async () => (await collect(runtime.logs(first.uid))).includes('/scratch'), 'pwd to print the working directory', 30_000);
  const names = async () => (await engine.docker.listVolumes()).Volumes.map((v) => v.Name).filter((n) => n.startsWith('lattice.dora.')).sort();
  assert.deepEqual(await names(), ['lattice.dora.notes.data', 'lattice.dora.notes.scratch']);

  await runtime.stop(first.uid);
  assert.deepEqual(await names(), ['lattice.dora.notes.data', 'lattice.dora.notes.scratch'], 'a plain stop keeps every volume');
  const second = spec(template, { namespace: 'dora', workload: 'notes' });
  await runtime.deploy(second);
  await runtime.stop(second.uid, { reclaimVolumes: true });
  assert.deepEqual(await names(), ['lattice.dora.notes.data'], 'the workload is deleted: its Delete volume goes, the Retain one stays');
});

test('a restarted runtime adopts the running container: same id, no duplicate, no restart', { skip: unavailable }, async (t) => {
  const first = await DockerRuntime.open({ docker: engine.docker, network: 'host', stopGraceMs: 1_000 });
  const port = await freePort();
  const instance = spec(httpd(port), { env: { GREETING: 'adopted' } });
  await first.deploy(instance);
  await waitFor(() => observed(first, instance.uid)?.state === 'Running', 'Running', 30_000);
  const [before] = await engine.latticeContainers(`lattice.instance=${instance.uid}`);
  await first.close();

  const second = await openRuntime(t);
  const adopted = await waitFor(() => {
    const o = observed(second, instance.uid);
    return o?.state === 'Running' && o;
  }, 'the adopted instance to be Running', 10_000);
  assert.equal(adopted.restarts, 0);
  assert.equal(adopted.templateHash, 'h1');
  const after = await engine.latticeContainers(`lattice.instance=${instance.uid}`);
  assert.deepEqual(after.map((c) => c.Id), [before!.Id], 'the same container, and only it');
  assert.equal(second.specOf(instance.uid)?.env.GREETING, 'adopted', 'the env is read back from the container');
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'hello adopted\n');
  // Deploying the same template again (what the control plane does on reconnect) changes nothing.
  await second.deploy({ ...instance, env: { GREETING: 'adopted' } });
  assert.deepEqual((await engine.latticeContainers(`lattice.instance=${instance.uid}`)).map((c) => c.Id), [before!.Id]);
});

test('a crashing container is restarted into a new one with back-off; logs --previous show the crashed run; older runs are removed', { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  const instance = spec({ command: ['sh', '-c', 'echo "run started at $(cat /proc/uptime)"; sleep 0.3; echo about to fail >&2; exit 3'] });
  await runtime.deploy(instance);
  const restarted = await waitFor(() => {
    const o = observed(runtime, instance.uid);
    return o && o.restarts >= 2 && o;
  }, 'two restarts', 30_000);
  assert.equal(restarted.exitCode, 3);
  const failing = await waitFor(() => {
    const o = observed(runtime, instance.uid);
    return o?.state === 'Failed' && o;
  }, 'Failed while backing off', 10_000);
  assert.match(failing.message ?? '', /back-off [\d.]+s restarting failed container \(exit code 3\)/);
  const previous = await collect(runtime.logs(instance.uid, { previous: true }));
  assert.match(previous.join('\n'), /run started at/);
  assert.ok(previous.includes('about to fail'), `stderr is in the log: ${JSON.stringify(previous)}`);
  // Older runs are removed once the next one has started; on a slow engine (vfs) the removal can
  // still be under way when a short run has already ended.
  let runs: number[] = [];
  await waitFor(async () => {
    runs = (await engine.latticeContainers(`lattice.instance=${instance.uid}`)).map((c) => Number(c.Labels['lattice.run']));
    return runs.length <= 2;
  }, 'older runs removed', 10_000).catch(() => undefined);
  assert.ok(runs.length <= 2, `at most the current and the previous run are kept: runs ${runs.join(', ')}`);

  const once = spec({ command: ['sh', '-c', 'echo only once'], restartPolicy: 'Never' });
  await runtime.deploy(once);
  const exited = await waitFor(() => {
    const o = observed(runtime, once.uid);
    return o?.state === 'Exited' && o;
  }, 'Exited', 20_000);
  assert.equal(exited.exitCode, 0);
  await assert.rejects(collect(runtime.logs(once.uid, { previous: true })), /has no previous run/);
  assert.deepEqual(await collect(runtime.logs(once.uid)), ['only once']);
});

test('logs follow a running container live until the reader returns; tail limits the lines', { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  const instance = spec({ command: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'] });
  await runtime.deploy(instance);
  await waitFor(() => observed(runtime, instance.uid)?.state === 'Running', 'Running', 30_000);
  const seen: string[] = [];
  const iterator = runtime.logs(instance.uid, { follow: true, tail: 0 })[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    assert.equal(next.done, false);
    seen.push(next.value as string);
    if (seen.length === 5) break;
  }
  assert.match(seen[0]!, /^tick \d+$/);
  const numbers = seen.map((line) => Number(line.split(' ')[1]));
  assert.deepEqual(numbers, numbers.map((_, i) => numbers[0]! + i), 'consecutive live lines');
  await iterator.return!();
  assert.equal((await collect(runtime.logs(instance.uid, { tail: 3 }))).length, 3);
});

test('stats: CPU of a busy container and its memory', { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  const busy = spec({ command: ['sh', '-c', 'while true; do :; done'] });
  await runtime.deploy(busy);
  await waitFor(() => observed(runtime, busy.uid)?.state === 'Running', 'Running', 30_000);
  const stats = await waitFor(async () => {
    const s = await runtime.stats(busy.uid);
    return s.cpuCores > 0.2 && s;
  }, 'the busy loop to show in cpuCores', 20_000);
  assert.ok(stats.cpuCores < 2.5, `cpuCores ${stats.cpuCores}`);
  assert.ok(stats.memoryBytes > 0 && Number.isInteger(stats.memoryBytes), `memoryBytes ${stats.memoryBytes}`);
});

test('an image that cannot be pulled: Failed with a reason naming the image, retried with back-off', { skip: unavailable }, async (t) => {
  const runtime = await openRuntime(t);
  // A registry on loopback where nothing listens: the pull fails here, never reaching the internet.
  const image = `127.0.0.1:${await freePort()}/lattice-test/missing:1`;
  const instance: DeploySpec = { ...spec({ command: ['true'] }), template: { image, command: ['true'] } };
  await runtime.deploy(instance);
  const failed = await waitFor(() => {
    const o = observed(runtime, instance.uid);
    return o?.state === 'Failed' && o;
  }, 'Failed', 30_000);
  assert.ok(failed.message?.includes(image), `the reason names the image: ${failed.message}`);
  assert.match(failed.message ?? '', /cannot pull image|image not found/);
  assert.match(failed.message ?? '', /back-off/);
  t.diagnostic(`reason: ${failed.message}`);
  assert.deepEqual(await engine.latticeContainers(`lattice.instance=${instance.uid}`), [], 'no container was created');
});

const noRegistry = unavailable ?? registryUnavailableReason();

test('an absent image is pulled from a registry (on loopback) with progress in the status message; a tag it lacks is "image not found"', { skip: noRegistry }, async (t) => {
  const registry = await startRegistry(engine, await freePort());
  t.after(() => registry.stop());
  const image = await registry.push(engine.image, 'lattice-test/pulled:1');
  const runtime = await openRuntime(t);
  const messages: string[] = [];
  runtime.onChange((o) => {
    if (o.message) messages.push(o.message);
  });
  const instance: DeploySpec = { ...spec({ command: ['sleep', '300'] }), template: { image, command: ['sleep', '300'] } };
  await runtime.deploy(instance);
  await waitFor(() => observed(runtime, instance.uid)?.state === 'Running', 'Running after the pull', 60_000);
  assert.ok(messages.some((m) => m.startsWith(`pulling ${image}`)), `progress was reported: ${JSON.stringify(messages)}`);
  await engine.docker.getImage(image).inspect(); // it is local now

  const missing = `${registry.address}/lattice-test/pulled:no-such-tag`;
  const absent: DeploySpec = { ...spec({ command: ['true'] }), template: { image: missing, command: ['true'] } };
  await runtime.deploy(absent);
  const failed = await waitFor(() => {
    const o = observed(runtime, absent.uid);
    return o?.state === 'Failed' && o;
  }, 'Failed', 30_000);
  assert.match(failed.message ?? '', new RegExp(`^image not found: ${missing.replace(/[.]/g, '\\.')}`));
});
