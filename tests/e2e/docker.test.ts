// The loop with the docker runtime: a real control plane, `lattice agent` processes that find a
// private dockerd through DOCKER_HOST (host networking: the engine has no bridge), the busybox
// test image. A web workload through its life (Running, scale, agent restart → adoption, rolling
// update, delete); a generated secret that reaches the container and nothing else; a tunnel that
// ngrok cannot open (its edge is a loopback stand-in); logs and stats through the control plane, `lattice logs`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { LatticeApiError, LatticeClient } from '../../client/api-client.ts';
import type { Agent, Event, Instance, Secret, WatchMessage, Workload } from '../../schemas/types.gen.ts';
import { dockerUnavailableReason, registryUnavailableReason, startDocker, startRegistry, type TestDocker } from '../support/docker.ts';
import { ngrokEdgeStandIn } from '../support/loopback-only.ts';
import { NODE, e2eTest, freePort, getAgent, getWorkload, httpText, listInstances, tempDir, unschedulableReason, waitFor, type E2E } from './support.ts';

const unavailable = dockerUnavailableReason();
if (unavailable) console.log(`# skipping the docker e2e tests: ${unavailable}`);

let engine: TestDocker;
before(async () => {
  if (!unavailable) engine = await startDocker();
});
after(async () => {
  await engine?.stop();
});

function web(name: string, port: number, greeting: string, replicas = 1): Workload {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name },
    spec: {
      image: engine.image,
      command: ['sh', '-c', 'mkdir -p /www && echo "hello $GREETING" > /www/index.html && exec httpd -f -p $PORT -h /www'],
      env: [{ name: 'GREETING', value: greeting }],
      ports: [{ name: 'http', containerPort: port, protocol: 'http', expose: 'host' }],
      healthCheck: { http: { path: '/', port: 'http' }, intervalSeconds: 1 },
      replicas,
    },
  } as Workload;
}

async function startDockerAgent(env: E2E, name: string, extra: Record<string, string> = {}, dataDir?: string) {
  return env.startAgent({ name, env: { DOCKER_HOST: engine.host, ...extra }, ...(dataDir ? { dataDir, joinToken: null } : {}) });
}

async function containersOf(namespace: string, workload: string) {
  return engine.latticeContainers(`lattice.workload=${namespace}/${workload}`);
}

async function runningWith(env: E2E, name: string, replicas: number, check: (w: Workload, instances: Instance[]) => boolean = () => true) {
  return waitFor(
    async () => {
      const w = await getWorkload(env.user, env.namespace, name);
      const instances = (await listInstances(env.user, env.namespace, name)).filter((i) => !i.metadata.deletionTimestamp);
      const ok = w?.status?.phase === 'Running' && w.status.readyReplicas === replicas && instances.length === replicas && w.status.endpoints?.length === replicas && check(w, instances);
      return ok ? { w, instances } : undefined;
    },
    45_000,
    `${name} to run ${replicas} ready replica(s)`,
  );
}

// Default agent timings: the restarted agent process takes a few seconds to start, longer than
// E2E_TIMINGS would let its instances live before they are Lost and replaced.
e2eTest('docker: httpd Running and answering, scale 1→2, agent restart adopts the containers, rolling update, delete removes them', { skip: unavailable, timeout: 150_000, config: { agentTimings: { graceMs: 15_000, evictionMs: 30_000 } } }, async (env) => {
  const { user, namespace: ns } = env;
  const dataDir = tempDir('agent-docker');
  const agent = await env.startAgent({ name: 'dock', dataDir, env: { DOCKER_HOST: engine.host, LATTICE_DOCKER_NETWORK: 'host' } });
  assert.deepEqual([...((await getAgent(env.admin, 'dock')) as Agent).status!.runtimes!].sort(), ['docker', 'process']);
  const port = await freePort();

  await user.apply([web('web', port, 'v1')]);
  const one = await runningWith(env, 'web', 1);
  assert.equal(one.w.status!.endpoints![0]!.url, `http://127.0.0.1:${port}`, 'host networking: the container listens on containerPort');
  assert.equal(await httpText(`http://127.0.0.1:${port}/`), 'hello v1\n');

  // The second replica finds containerPort taken and gets a free port as $PORT.
  await user.apply([web('web', port, 'v1', 2)]);
  const two = await runningWith(env, 'web', 2);
  const urls = two.w.status!.endpoints!.map((e) => e.url);
  assert.equal(new Set(urls).size, 2);
  for (const url of urls) assert.equal(await httpText(url), 'hello v1\n');
  const before = (await containersOf(ns, 'web')).map((c) => c.Id).sort();
  assert.equal(before.length, 2);

  // A killed agent leaves its containers running; the restarted one adopts them.
  await agent.kill('SIGKILL');
  for (const url of urls) assert.equal(await httpText(url), 'hello v1\n', 'containers keep serving while the agent is down');
  const again = await startDockerAgent(env, 'dock', { LATTICE_DOCKER_NETWORK: 'host' }, dataDir);
  await runningWith(env, 'web', 2);
  assert.deepEqual((await containersOf(ns, 'web')).map((c) => c.Id).sort(), before, 'the same containers, no duplicates');
  const instances = await listInstances(user, ns, 'web');
  assert.ok(instances.every((i) => i.status?.restarts === 0), `no restart: ${instances.map((i) => i.status?.restarts).join(',')}`);
  assert.match(again.output(), /adopted running container/);

  // Rolling update: new containers answer with the new greeting, the old ones are removed.
  await user.apply([web('web', port, 'v2', 2)]);
  const updated = await runningWith(env, 'web', 2, (w) => w.status?.updatedReplicas === 2);
  for (const endpoint of updated.w.status!.endpoints!) assert.equal(await httpText(endpoint.url), 'hello v2\n');
  await waitFor(async () => (await containersOf(ns, 'web')).length === 2, 20_000, 'only the two new containers');
  assert.ok((await containersOf(ns, 'web')).every((c) => !before.includes(c.Id)));

  await user.delete('workloads', ns, 'web');
  await waitFor(async () => !(await getWorkload(user, ns, 'web')), 30_000, 'the workload to be gone');
  await waitFor(async () => (await containersOf(ns, 'web')).length === 0, 20_000, 'no container left (docker ps -a by label)');
});

const SECRET_AND_TUNNEL = (port: number) => `apiVersion: lattice/v1
kind: Secret
metadata:
  name: db-credentials
spec:
  data:
    username: app
  generate:
    password:
      length: 32
---
apiVersion: lattice/v1
kind: Workload
metadata:
  name: db
spec:
  image: ${engine.image}
  command: ["sh", "-c", "echo listening; exec httpd -f -p $PORT -h /tmp"]
  env:
    - name: DB_USER
      valueFrom: { secretKeyRef: { name: db-credentials, key: username } }
    - name: DB_PASSWORD
      valueFrom: { secretKeyRef: { name: db-credentials, key: password } }
  ports:
    - name: db
      containerPort: ${port}
      protocol: tcp
      expose: tunnel
  healthCheck:
    tcp: { port: db }
    intervalSeconds: 1
`;

e2eTest('docker: a generated secret reaches only the container; stable across re-apply; changing it rolls; a tunnel ngrok refuses is TunnelReady=False and the host endpoint works', { skip: unavailable, timeout: 120_000 }, async (env) => {
  const { user, namespace: ns } = env;
  // The real @ngrok/ngrok session, dialling a loopback stand-in for ngrok's edge: nothing leaves the machine.
  const agent = await startDockerAgent(env, 'vault', { NGROK_AUTHTOKEN: 'dummy-token-for-tests', NGROK_SERVER_ADDR: (await ngrokEdgeStandIn(env.t)).address });
  const messages: WatchMessage[] = [];
  const watch = user.watch({ namespace: ns });
  void (async () => {
    for await (const message of watch) messages.push(message);
  })();
  env.cleanup(() => watch.close());

  const port = await freePort();
  const manifests = SECRET_AND_TUNNEL(port);
  await user.apply(manifests);
  const password = (await user.get<Secret>('secrets', ns, 'db-credentials', { showSecrets: true })).spec.data!.password!;
  assert.match(password, /^[A-Za-z0-9]{32}$/);

  // The tunnel cannot open (the stand-in never completes a handshake): the condition says why, the host endpoint works.
  const ready = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, 'db');
      const tunnel = w?.status?.conditions?.find((c) => c.type === 'TunnelReady');
      return w?.status?.phase === 'Running' && tunnel?.status === 'False' ? w : undefined;
    },
    45_000,
    'db Running with TunnelReady=False',
  );
  const tunnel = ready.status!.conditions!.find((c) => c.type === 'TunnelReady')!;
  assert.equal(tunnel.reason, 'TunnelFailed');
  assert.match(tunnel.message ?? '', /port db: ngrok: failed to connect session: tls handshake error/);
  assert.deepEqual(ready.status!.endpoints!.map((e) => [e.port, e.url, e.expose]), [['db', `tcp://127.0.0.1:${port}`, 'host']]);
  assert.equal(typeof (await fetch(`http://127.0.0.1:${port}/`)).status, 'number', 'the host endpoint answers');
  const [instance] = await listInstances(user, ns, 'db');
  assert.equal(instance!.status?.conditions?.find((c) => c.type === 'TunnelReady')?.status, 'False', 'the Instance carries the condition too');

  // The value is in the container's env, and nowhere the API shows.
  const [container] = await containersOf(ns, 'db');
  const inspected = await engine.docker.getContainer(container!.Id).inspect();
  assert.ok(inspected.Config.Env.includes(`DB_PASSWORD=${password}`));
  assert.ok(inspected.Config.Env.includes('DB_USER=app'));
  const reads = await Promise.all([
    user.get('workloads', ns, 'db'),
    user.list('instances', { namespace: ns }),
    user.list('events', { namespace: ns }),
    user.list('secrets', { namespace: ns }),
    user.get('secrets', ns, 'db-credentials'),
    user.list('workloads'),
  ]);
  for (const read of reads) assert.ok(!JSON.stringify(read).includes(password), `a read shows the value: ${JSON.stringify(read).slice(0, 200)}`);
  assert.ok(messages.length > 0, 'the watch saw the objects');
  assert.ok(!JSON.stringify(messages).includes(password), 'no watch message carries the value');
  assert.ok(!agent.output().includes(password), 'the agent never logs the value');

  // Re-applying changes nothing: same value, same instance.
  const reapplied = await user.apply(manifests);
  assert.deepEqual(reapplied.results.map((r) => r.action), ['unchanged', 'unchanged']);
  assert.equal((await user.get<Secret>('secrets', ns, 'db-credentials', { showSecrets: true })).spec.data!.password, password);
  assert.deepEqual((await listInstances(user, ns, 'db')).map((i) => i.metadata.uid), [instance!.metadata.uid]);

  // Changing the secret rolls the workload: a new instance, whose container gets the new value.
  await user.apply(manifests.replace('username: app', 'username: admin'));
  const rolled = await waitFor(
    async () => {
      const live = (await listInstances(user, ns, 'db')).filter((i) => !i.metadata.deletionTimestamp);
      const w = await getWorkload(user, ns, 'db');
      return w?.status?.phase === 'Running' && live.length === 1 && live[0]!.metadata.uid !== instance!.metadata.uid ? live[0] : undefined;
    },
    45_000,
    'db to roll to a new instance',
  );
  await waitFor(async () => (await containersOf(ns, 'db')).length === 1, 20_000, 'the old container to be removed');
  const [newContainer] = await containersOf(ns, 'db');
  const newEnv = (await engine.docker.getContainer(newContainer!.Id).inspect()).Config.Env;
  assert.ok(newEnv.includes('DB_USER=admin') && newEnv.includes(`DB_PASSWORD=${password}`), `instance ${rolled.metadata.name} runs with the changed secret`);
  assert.ok(!JSON.stringify(messages).includes(password), 'still no watch message carries the value');
});

e2eTest('logs and stats through the control plane for a container and a process: tail, follow, --previous after a crash, `lattice logs`; bad requests named', { skip: unavailable, timeout: 120_000 }, async (env) => {
  const { user, namespace: ns } = env;
  await startDockerAgent(env, 'logger');
  const marker = env.marker('ticker');
  await user.apply([
    { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'ticker' }, spec: { image: engine.image, command: ['sh', '-c', 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'] } },
    { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'busy' }, spec: { image: engine.image, command: ['sh', '-c', 'while :; do :; done'] } },
    { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'proc' }, spec: { command: [NODE, '-e', 'let i = 0; setInterval(() => console.log(`proc ${i++}`), 200)'], args: [marker] } },
    { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'crasher' }, spec: { image: engine.image, command: ['sh', '-c', 'echo "crashing run"; sleep 0.3; exit 2'] } },
  ]);
  for (const name of ['ticker', 'busy', 'proc']) await waitFor(async () => (await getWorkload(user, ns, name))?.status?.phase === 'Running', 45_000, `${name} to be Running`);

  const read = async (name: string, params: Parameters<typeof user.logs>[2]) => {
    let text = '';
    for await (const chunk of user.logs(ns, name, params)) text += chunk;
    return text.split('\n').filter(Boolean);
  };
  await waitFor(async () => (await read('ticker', {})).length >= 3, 10_000, 'ticker lines');
  const tail = await read('ticker', { tail: 2 });
  assert.equal(tail.length, 2);
  assert.match(tail[0]!, /^tick \d+$/);
  await waitFor(async () => (await read('proc', {})).length >= 2, 10_000, 'proc lines');
  assert.match((await read('proc', { tail: 1 }))[0]!, /^proc \d+$/, 'the process runtime answers too');

  // follow: lines keep coming until the reader stops.
  for (const name of ['ticker', 'proc']) {
    const abort = new AbortController();
    let followed = '';
    for await (const chunk of user.logs(ns, name, { follow: true, tail: 0 }, abort.signal)) {
      followed += chunk;
      if (followed.split('\n').filter(Boolean).length >= 3) break;
    }
    abort.abort();
    const numbers = followed.split('\n').filter(Boolean).map((l) => Number(l.split(' ')[1]));
    assert.ok(numbers.length >= 3 && numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1), `${name}: consecutive live lines ${JSON.stringify(numbers)}`);
  }

  // stats: numbers for the container and the process.
  for (const name of ['busy', 'proc']) {
    const stats = await user.stats(ns, name);
    assert.equal(stats.items.length, 1);
    const item = stats.items[0]! as { instance: string; agent: string; cpuCores: number; memoryBytes: number };
    assert.equal(item.agent, 'logger');
    assert.ok(typeof item.cpuCores === 'number' && Number.isInteger(item.memoryBytes) && item.memoryBytes > 0, `${name}: ${JSON.stringify(item)}`);
  }
  const busy = (await user.stats(ns, 'busy')).items[0] as { cpuCores: number };
  assert.ok(busy.cpuCores > 0.2, `a busy loop uses CPU: ${busy.cpuCores}`);

  // `lattice logs` reads the current CLI context.
  const config = join(tempDir('cli'), 'config.json');
  writeFileSync(config, JSON.stringify({ currentContext: 'e2e', contexts: { e2e: { server: env.url, token: user.options.token, username: ns } } }), { mode: 0o600 });
  const cli = env.spawn('lattice logs', ['logs', 'ticker', '--tail', '3'], { env: { LATTICE_CONFIG: config } });
  const exit = await cli.exited;
  assert.equal(exit.code, 0, cli.output());
  assert.equal(cli.stdout().split('\n').filter(Boolean).length, 3);
  const follow = env.spawn('lattice logs -f', ['logs', 'proc', '-f', '--tail', '1'], { env: { LATTICE_CONFIG: config } });
  await waitFor(() => follow.stdout().split('\n').filter(Boolean).length >= 3, 15_000, '`lattice logs -f` to print live lines');
  await follow.kill('SIGINT');

  // --previous: the run that crashed (the agent restarts it after a 10 s back-off).
  await waitFor(async () => ((await listInstances(user, ns, 'crasher'))[0]?.status?.restarts ?? 0) >= 1, 40_000, 'crasher to be restarted once');
  const previous = env.spawn('lattice logs --previous', ['logs', 'crasher', '--previous'], { env: { LATTICE_CONFIG: config } });
  assert.equal((await previous.exited).code, 0, previous.output());
  assert.match(previous.stdout(), /crashing run/);
  const noPrevious = env.spawn('lattice logs --previous', ['logs', 'ticker', '--previous'], { env: { LATTICE_CONFIG: config } });
  assert.notEqual((await noPrevious.exited).code, 0);
  assert.match(noPrevious.output(), /has no previous run/);

  // Bad requests are 4xx naming what is wrong.
  const status = async (fn: () => Promise<unknown>) => fn().then(() => 200, (e: unknown) => (e instanceof LatticeApiError ? `${e.status} ${e.body.message}` : String(e)));
  assert.match(String(await status(() => read('nothing-here', {}))), /^404 .*nothing-here/);
  assert.match(String(await status(() => read('ticker', { tail: -1 }))), /^400 .*querystring\.tail/);
  assert.match(String(await status(() => read('ticker', { instance: 'nope' }))), /^404 instance: workload ticker has no instance nope/);
  const { client: other } = await (async () => {
    const anonymous = user.withToken('');
    await anonymous.register('mallory', 'mallory-password-1');
    const tokens = await anonymous.login('mallory', 'mallory-password-1');
    return { client: user.withToken(tokens.accessToken) };
  })();
  assert.match(String(await status(() => other.stats(ns, 'ticker'))), /^403 /);
});

e2eTest("trust: an agent with host networking runs only its owner's containers unless it opted in; the Agent says which network it uses", { skip: unavailable, timeout: 90_000 }, async (env) => {
  const { admin, user, namespace: ns } = env;
  await env.startAgent({ name: 'hostnet', trustTenants: false, env: { DOCKER_HOST: engine.host } });
  const agent = (await getAgent(user, 'hostnet'))!;
  assert.equal(agent.status?.dockerNetwork, 'host', 'this engine has no bridge');
  assert.equal(agent.status?.tenantHostNetwork, false);
  await user.apply([web('stranger', await freePort(), 'stranger')]);
  assert.equal(await unschedulableReason(user, ns, 'stranger'), '0/1 agents can run it: 1 shares its host network only with its owner');
  assert.deepEqual(await containersOf(ns, 'stranger'), [], 'no container of the tenant was created');

  // The owner's own container runs there.
  await admin.apply([web('own', await freePort(), 'owner')]);
  await waitFor(async () => (await getWorkload(admin, 'root-admin', 'own'))?.status?.phase === 'Running', 45_000, "the owner's container Running");
});

e2eTest('lattice up with Docker: its local agent offers docker and process, passes --docker-network host, and runs an image', { skip: unavailable, timeout: 90_000 }, async (env) => {
  const port = await freePort();
  const dataDir = tempDir('up-docker');
  const configFile = join(tempDir('cli'), 'config.json');
  const up = env.spawn('lattice up', ['up', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--docker-network', 'host'], {
    env: { LATTICE_CONFIG: configFile, DOCKER_HOST: engine.host },
    cwd: dataDir,
  });
  await waitFor(() => {
    if (up.hasExited()) throw new Error(`lattice up exited:\n${up.output()}`);
    return up.stdout().includes('Lattice is up');
  }, 30_000, '"Lattice is up"');
  assert.match(up.stdout(), /agent\s+local \(docker and process runtimes\)/);
  const context = (JSON.parse(readFileSync(configFile, 'utf8')) as { contexts: { local: { server: string; token: string } } }).contexts.local;
  const client = new LatticeClient({ server: context.server, token: context.token });
  const webPort = await freePort();
  const applied = await client.apply([web('web', webPort, 'from up')]);
  const ns = applied.results[0]!.namespace!;
  await waitFor(async () => (await getWorkload(client, ns, 'web'))?.status?.phase === 'Running', 45_000, 'web Running under lattice up');
  assert.equal(await httpText(`http://127.0.0.1:${webPort}/`), 'hello from up\n', 'host networking: containerPort on the host');
  const [container] = await containersOf(ns, 'web');
  assert.equal((await engine.docker.getContainer(container!.Id).inspect()).HostConfig.NetworkMode, 'host');
  await client.delete('workloads', ns, 'web');
  await waitFor(async () => (await containersOf(ns, 'web')).length === 0, 30_000, 'the container to be removed');
});

e2eTest('an image that cannot be pulled: the instance fails saying so, the Workload is Degraded, and a Warning event tells it once', { skip: unavailable ?? registryUnavailableReason(), timeout: 90_000 }, async (env) => {
  const { user, namespace: ns } = env;
  // A registry on loopback that does not have the image: the pull fails with its real 404.
  const registry = await startRegistry(engine, await freePort());
  env.cleanup(() => registry.stop());
  await startDockerAgent(env, 'puller');
  const missing = `${registry.address}/lattice-test/missing:1`;
  await user.apply([{ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'ghost' }, spec: { image: missing } } as Workload]);
  const degraded = await waitFor(async () => {
    const w = await getWorkload(user, ns, 'ghost');
    return w?.status?.phase === 'Degraded' ? w : undefined;
  }, 45_000, 'ghost Degraded');
  const progressing = degraded.status!.conditions!.find((c) => c.type === 'Progressing')!;
  assert.ok(progressing.message?.includes(`image not found: ${missing}`), `the condition says the image is missing: ${progressing.message}`);
  const warnings = await waitFor(async () => {
    const events = (await user.list<Event>('events', { namespace: ns, fieldSelector: 'involvedObject.kind=Workload,involvedObject.name=ghost' })).items;
    const found = events.filter((e) => e.spec.reason === 'InstanceFailing');
    return found.length > 0 ? found : undefined;
  }, 15_000, 'an InstanceFailing event');
  assert.equal(warnings.length, 1, 'one event for the episode, not one per retry');
  assert.equal(warnings[0]!.spec.type, 'Warning');
  assert.match(warnings[0]!.spec.message ?? '', /ghost-\S+: .*(image not found|cannot pull image)/);
});
