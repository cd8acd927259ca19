// `lattice up` as a user runs it: one process (control plane + reconciler + local agent) that
// prints "Lattice is up", writes a CLI context, runs examples/hello.yaml, and stops on SIGTERM
// leaving the workload running for the next `up` to adopt.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { LatticeClient } from '../../client/api-client.ts';
import type { Agent, Instance, Workload } from '../../schemas/types.gen.ts';
import {
  type E2E,
  type LatticeProcess,
  agentReady,
  e2eTest,
  findPids,
  freePort,
  helloWorkload,
  httpText,
  isAlive,
  sleep,
  tempDir,
  timing,
  waitFor,
  within,
} from './support.ts';

interface CliConfig {
  currentContext?: string;
  contexts: Record<string, { server: string; token: string; username?: string }>;
}

async function up(env: E2E, port: number, dataDir: string, configFile: string, extraEnv: Record<string, string> = {}): Promise<{ proc: LatticeProcess; ms: number; reported: number }> {
  const started = Date.now();
  const proc = env.spawn('lattice up', ['up', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { env: { LATTICE_CONFIG: configFile, ...extraEnv }, cwd: dataDir });
  await waitFor(
    () => {
      if (proc.hasExited()) throw new Error(`lattice up exited:\n${proc.output()}`);
      return proc.stdout().includes('Lattice is up');
    },
    30_000,
    '"Lattice is up"',
  );
  const reported = Number(/Lattice is up in (\d+) ms/.exec(proc.stdout())?.[1]);
  return { proc, ms: Date.now() - started, reported };
}

async function stop(proc: LatticeProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  proc.child.kill('SIGTERM');
  return within(proc.exited, 15_000, { code: null, signal: 'SIGKILL' as NodeJS.Signals });
}

// Short agent timings, as a user may set them in .env. Regression: up used to apply
// LATTICE_AGENT_GRACE to its server but not LATTICE_AGENT_HEARTBEAT to its local agent (fixed
// 5 s): the agent flapped NotReady and its instance was replaced every ~5 s.
const TIMINGS_ENV = { LATTICE_AGENT_GRACE: '2', LATTICE_AGENT_EVICTION: '2', LATTICE_AGENT_HEARTBEAT: '0.5' };

e2eTest('lattice up (grace 2 s, heartbeat 0.5 s): serves, writes a context, runs hello.yaml steadily; SIGTERM stops it; the next up adopts the running workload', { timeout: 90_000 }, async (env) => {
  const { t } = env;
  const port = await freePort();
  const dataDir = tempDir('up');
  const configFile = join(tempDir('cli'), 'config.json');
  const marker = env.marker('up');

  // ---- first start
  const first = await up(env, port, dataDir, configFile, TIMINGS_ENV);
  t.diagnostic(`timing: lattice up: spawn → "Lattice is up" ${(first.ms / 1000).toFixed(2)} s (it reports ${first.reported} ms)`);
  assert.match(first.proc.stdout(), new RegExp(`API\\s+http://127\\.0\\.0\\.1:${port}/api/v1`));
  // The web UI (built first if ui/dist was missing) is served at /, any view path included.
  assert.match(first.proc.stdout(), new RegExp(`UI\\s+http://127\\.0\\.0\\.1:${port}/ `));
  assert.match((await httpText(`http://127.0.0.1:${port}/workloads`)) ?? '(no answer)', /<lattice-app><\/lattice-app>/);
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as CliConfig;
  assert.equal(config.currentContext, 'local');
  const context = config.contexts.local!;
  assert.equal(context.server, `http://127.0.0.1:${port}`);
  assert.equal(statSync(configFile).mode & 0o777, 0o600, 'the CLI config is private');
  // What holds password hashes, the JWT key, the admin's password and the agent's credential.
  for (const file of ['lattice.db', 'lattice.db-wal', 'admin.json', 'agent/credential.json']) {
    assert.equal(statSync(join(dataDir, file)).mode & 0o777, 0o600, `${file} is readable by its owner only`);
  }
  assert.match(first.proc.stdout(), /processes for admin only/, "up says whose processes its agent runs");
  const client = new LatticeClient({ server: context.server, token: context.token });

  const applied = Date.now();
  const result = await client.apply([helloWorkload({ name: 'hello', marker })]);
  const ns = result.results[0]!.namespace!;
  assert.equal(result.results[0]!.action, 'created');
  const running = await waitFor(
    async () => {
      const w = await client.get<Workload>('workloads', ns, 'hello');
      return w.status?.phase === 'Running' && w.status.endpoints?.length ? w : undefined;
    },
    30_000,
    'hello to be Running under lattice up',
  );
  const toRunning = timing(t, 'lattice up: apply → Running', applied);
  assert.ok(toRunning <= 15_000, `apply → Running took ${toRunning} ms`);
  assert.equal(running.status!.endpoints![0]!.agent, 'local');
  const url = running.status!.endpoints![0]!.url;
  assert.match((await httpText(url)) ?? '(no answer)', /hello from lattice \(world\)/);
  const [pid] = findPids(marker);
  assert.ok(pid, 'the workload process runs');
  const [instance] = (await client.list<Instance>('instances', { namespace: ns })).items;

  // ---- steady for longer than grace + eviction: the local agent stays Ready, nothing is replaced
  const observations: string[] = [];
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    const agent = await client.get<Agent>('agents', undefined, 'local');
    const items = (await client.list<Instance>('instances', { namespace: ns })).items;
    observations.push(`${agentReady(agent) ? 'Ready' : 'NotReady'} ${items.map((i) => `${i.metadata.name}:${i.status?.state}`).join(',')}`);
    if (items.length !== 1 || items[0]!.metadata.uid !== instance!.metadata.uid) break; // replaced: the damage is done
    await sleep(250);
  }
  env.note(`observations: ${JSON.stringify([...new Set(observations)])}`);
  assert.ok(observations.every((o) => o.startsWith('Ready')), `the local agent stayed Ready: ${[...new Set(observations)].join(' | ')}`);
  assert.deepEqual(findPids(marker), [pid], 'the same workload process throughout');

  // ---- SIGTERM: up exits cleanly; the workload keeps running (detached)
  const exit = await stop(first.proc);
  assert.deepEqual(exit, { code: 0, signal: null }, `lattice up exits 0 on SIGTERM:\n${first.proc.output()}`);
  assert.ok(isAlive(pid), 'the workload outlives lattice up');

  // ---- the next `up` on the same data dir adopts it: same process, same instance, Running
  const second = await up(env, port, dataDir, configFile, TIMINGS_ENV);
  t.diagnostic(`timing: lattice up (second start): spawn → "Lattice is up" ${(second.ms / 1000).toFixed(2)} s (it reports ${second.reported} ms)`);
  const again = JSON.parse(readFileSync(configFile, 'utf8')) as CliConfig;
  const client2 = new LatticeClient({ server: again.contexts.local!.server, token: again.contexts.local!.token });
  const adopted = await waitFor(
    async () => {
      const w = await client2.get<Workload>('workloads', ns, 'hello');
      return w.status?.phase === 'Running' && w.status.endpoints?.length ? w : undefined;
    },
    20_000,
    'hello Running after the second up',
  );
  const [instance2] = (await client2.list<Instance>('instances', { namespace: ns })).items;
  assert.equal(instance2?.metadata.uid, instance?.metadata.uid, 'the same instance');
  assert.equal(instance2?.status?.restarts, 0);
  assert.deepEqual(findPids(marker), [pid], 'the same process, adopted (not restarted)');
  assert.match((await httpText(adopted.status!.endpoints![0]!.url)) ?? '(no answer)', /hello from lattice \(world\)/);

  const exit2 = await stop(second.proc);
  assert.deepEqual(exit2, { code: 0, signal: null }, `lattice up exits 0 on SIGTERM:\n${second.proc.output()}`);
  // The workload processes are detached: the harness kills them by marker.
});


e2eTest('lattice up: a port in use is named with how to choose another, and a first start leaves no data directory; a second up on a running one is refused naming it; the context switch is said', { timeout: 90_000 }, async (env) => {
  const configFile = join(tempDir('cli'), 'config.json');
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  env.cleanup(() => void taken.close());
  const busyPort = (taken.address() as AddressInfo).port;
  const fresh = join(tempDir('up-busy'), 'state');
  const busy = env.spawn('lattice up (port taken)', ['up', '--listen', `127.0.0.1:${busyPort}`, '--data-dir', fresh], { env: { LATTICE_CONFIG: configFile } });
  assert.notEqual((await busy.exited).code, 0);
  assert.match(busy.output(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busyPort}: the port is in use .*--listen HOST:PORT or LATTICE_LISTEN, e\\.g\\. \`npm start -- --listen 127\\.0\\.0\\.1:${busyPort + 1}\``));
  assert.equal(existsSync(fresh), false, 'no half-made data directory');

  // Another context is current: up makes "local" current and says so.
  writeFileSync(configFile, JSON.stringify({ currentContext: 'elsewhere', contexts: { elsewhere: { server: 'http://127.0.0.1:9', token: 'x' } } }), { mode: 0o600 });
  const dataDir = tempDir('up-twice');
  const first = await up(env, await freePort(), dataDir, configFile);
  assert.match(first.proc.stdout(), /context  "local" written to .*, now the current one \(it was "elsewhere": `lattice config use-context elsewhere` goes back\)/);
  assert.equal((JSON.parse(readFileSync(configFile, 'utf8')) as CliConfig).currentContext, 'local');

  const second = env.spawn('second lattice up', ['up', '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', dataDir], { env: { LATTICE_CONFIG: configFile } });
  assert.notEqual((await second.exited).code, 0);
  assert.match(second.output(), new RegExp(`is in use by another agent \\(pid ${first.proc.child.pid}: a \`lattice agent\` or \`lattice up\`\\)`));
  assert.equal(first.proc.hasExited(), false, 'the first keeps running');
  assert.deepEqual(await stop(first.proc), { code: 0, signal: null });
});
