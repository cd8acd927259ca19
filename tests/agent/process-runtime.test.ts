// The process runtime against real child processes: deploy, health, endpoints, stop, idempotent
// deploys, env and args, logs and stats. Only loopback; every process is stopped after its test.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ObservedInstance } from '../../agent/runtime/types.ts';
import type { WorkloadSpec } from '../../schemas/types.gen.ts';
import { NODE, cleanupRoot, collect, isAlive, killLeftovers, openRuntime, processesUnderRoot, spec, tempDataDir, waitFor, waitGone } from './process-helpers.ts';

after(cleanupRoot);

function httpServerScript(): string {
  return [
    "const http = require('http');",
    "const server = http.createServer((req, res) => res.end('hello from lattice'));",
    "server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on ' + process.env.PORT));",
    "process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });",
  ].join('\n');
}

test('an HTTP server becomes Running and Healthy, answers on its endpoint, logs, and is gone after stop', async (t) => {
  const dataDir = tempDataDir(t);
  const runtime = await openRuntime(t, { dataDir });
  // The declared port; the runtime gives the process a free host port as PORT (host-ports.ts).
  const port = 8080;
  const seen: ObservedInstance[] = [];
  runtime.onChange((instance) => seen.push(instance));
  const s = spec(
    {
      command: [NODE, '-e', httpServerScript()],
      ports: [{ name: 'http', containerPort: port, protocol: 'http', expose: 'host' }, { name: 'admin', containerPort: 1, expose: 'none' }],
      healthCheck: { http: { port: 'http', path: '/' }, intervalSeconds: 1, failureThreshold: 30 },
    },
    { env: { PORT: '1' } },
  );
  await runtime.deploy(s);
  const pid = runtime.pidOf(s.uid);
  assert.ok(pid !== undefined && isAlive(pid), 'a process runs after deploy');

  const running = await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Running'), 'Running');
  assert.equal(running.health, 'Healthy');
  assert.equal(running.restarts, 0);
  assert.equal(running.templateHash, 'h1');
  assert.ok(running.startedAt && !Number.isNaN(Date.parse(running.startedAt)));
  assert.equal(running.endpoints.length, 1);
  assert.equal(running.endpoints[0]!.port, 'http');
  const hostPort = Number(/^http:\/\/127\.0\.0\.1:(\d+)$/.exec(running.endpoints[0]!.url)?.[1]);
  assert.ok(hostPort > 0 && hostPort !== port, `a host port of its own, not the declared one: ${running.endpoints[0]!.url}`);
  assert.equal(seen[0]?.state, 'Starting', 'with a health check, the first state is Starting');
  assert.equal(seen[0]?.health, 'Unknown');
  assert.deepEqual(seen[0]?.endpoints, [], 'no endpoints before it is ready');

  const response = await fetch(running.endpoints[0]!.url, { headers: { connection: 'close' } });
  assert.equal(await response.text(), 'hello from lattice');

  const lines = await collect(runtime.logs(s.uid));
  assert.ok(lines.includes(`listening on ${hostPort}`), `PORT overrides the spec's env; logs: ${JSON.stringify(lines)}`);

  // The state file holds secrets (env): owner-only.
  const stateFile = join(dataDir, 'instances', s.uid, 'state.json');
  assert.equal(statSync(stateFile).mode & 0o777, 0o600);
  const record = JSON.parse(readFileSync(stateFile, 'utf8'));
  assert.equal(record.pid, pid);
  assert.equal(typeof record.processStartTime, 'number');

  await runtime.stop(s.uid);
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  assert.deepEqual(runtime.list(), []);
  assert.equal(existsSync(join(dataDir, 'instances', s.uid)), false, 'the instance directory is removed');
  await runtime.stop(s.uid); // unknown now: a no-op
});

test('deploy is idempotent for the same templateHash and replaces the process for a new one', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const first = spec({ command: ['sleep', '300'] });
  await runtime.deploy(first);
  const pid1 = runtime.pidOf(first.uid);
  assert.ok(pid1 !== undefined);
  await waitFor(() => runtime.list()[0]?.state === 'Running', 'Running');

  await runtime.deploy({ ...first });
  assert.equal(runtime.pidOf(first.uid), pid1, 'same hash: same process');
  assert.equal(runtime.list().length, 1);

  await runtime.deploy({ ...first, templateHash: 'h2', template: { command: ['sleep', '301'] } });
  const pid2 = runtime.pidOf(first.uid);
  assert.ok(pid2 !== undefined && pid2 !== pid1, 'new hash: new process');
  await waitGone(pid1);
  assert.ok(isAlive(pid2));
  const [instance] = runtime.list();
  assert.equal(instance?.templateHash, 'h2');
  assert.equal(instance?.restarts, 0, 'a replacement is not a restart');
  assert.equal(runtime.list().length, 1);
});

test('concurrent deploys and replacements of one instance leave exactly one process', async (t) => {
  const dataDir = tempDataDir(t);
  const runtime = await openRuntime(t, { dataDir });
  const s = spec({ command: ['sleep', '300'] });
  const s2 = { ...s, templateHash: 'h2', template: { command: ['sleep', '301'] as [string, string] } };
  await Promise.all([runtime.deploy(s), runtime.deploy(s), runtime.deploy(s2), runtime.deploy(s2), runtime.deploy(s2)]);
  const pid = runtime.pidOf(s.uid);
  assert.ok(pid !== undefined);
  assert.equal(runtime.list()[0]?.templateHash, 'h2');
  const work = join(dataDir, 'instances', s.uid, 'work');
  const inWorkDir = (): number[] => processesUnderRoot().filter((p) => isAlive(p) && readlinkSync(`/proc/${p}/cwd`) === work);
  await waitFor(() => inWorkDir().length === 1, `one process, not ${JSON.stringify(inWorkDir())}`);
  assert.deepEqual(inWorkDir(), [pid]);
});

test('a command that does not exist fails with a clear message', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), backoff: { initialMs: 60_000 } });
  const never = spec({ command: ['lattice-no-such-command'], restartPolicy: 'Never' });
  await runtime.deploy(never);
  const failed = runtime.list().find((i) => i.uid === never.uid);
  assert.equal(failed?.state, 'Failed');
  assert.equal(failed?.message, 'command not found: lattice-no-such-command');
  assert.equal(failed?.restarts, 0);
  assert.equal(runtime.pidOf(never.uid), undefined);

  const always = spec({ command: ['lattice-no-such-command', '--flag'], restartPolicy: 'Always' });
  await runtime.deploy(always);
  const retrying = runtime.list().find((i) => i.uid === always.uid);
  assert.equal(retrying?.state, 'Failed');
  assert.match(retrying?.message ?? '', /^command not found: lattice-no-such-command \(back-off 60s before retrying\)$/);
});

test('spec.env reaches the process, the agent environment does not, args follow the command, cwd is the work dir', async (t) => {
  const dataDir = tempDataDir(t);
  const runtime = await openRuntime(t, { dataDir });
  process.env.LATTICE_TEST_LEAK = 'leaked';
  t.after(() => delete process.env.LATTICE_TEST_LEAK);
  const script = "console.log(`${process.env.GREETING} args=${JSON.stringify(process.argv.slice(1))} leak=${process.env.LATTICE_TEST_LEAK} cwd=${process.cwd()} home=${process.env.HOME}`)";
  const s = spec({ command: [NODE, '-e', script], args: ['a', 'b c'], restartPolicy: 'Never' }, { env: { GREETING: 'hello world' } });
  await runtime.deploy(s);
  const exited = await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Exited'), 'Exited');
  assert.equal(exited.exitCode, 0);
  const work = join(dataDir, 'instances', s.uid, 'work');
  const lines = await collect(runtime.logs(s.uid));
  assert.deepEqual(lines, [`hello world args=["a","b c"] leak=undefined cwd=${work} home=${work}`]);
});

test('logs: tail, previous run after a crash, and follow', async (t) => {
  const dataDir = tempDataDir(t);
  const runtime = await openRuntime(t, { dataDir });
  // Run 1 prints and crashes; run 2 prints, then one more line once the file "go" appears.
  const script = [
    'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count',
    'echo "run $n"; for i in 1 2 3; do echo "line $i of run $n"; done',
    'if [ "$n" -lt 2 ]; then echo "crash" >&2; exit 1; fi',
    'while [ ! -f go ]; do sleep 0.05; done; echo "after go"; exec sleep 300',
  ].join('\n');
  const s = spec({ command: ['sh', '-c', script], restartPolicy: 'Always' });
  await runtime.deploy(s);
  await waitFor(() => runtime.list()[0]?.restarts === 1 && runtime.list()[0]?.state === 'Running', 'the second run');
  await waitFor(async () => (await collect(runtime.logs(s.uid))).includes('line 3 of run 2'), 'run 2 output');

  assert.deepEqual(await collect(runtime.logs(s.uid, { previous: true })), ['run 1', 'line 1 of run 1', 'line 2 of run 1', 'line 3 of run 1', 'crash']);
  assert.deepEqual(await collect(runtime.logs(s.uid, { tail: 2 })), ['line 2 of run 2', 'line 3 of run 2']);
  assert.deepEqual(await collect(runtime.logs(s.uid, { tail: 100 })), ['run 2', 'line 1 of run 2', 'line 2 of run 2', 'line 3 of run 2']);
  assert.deepEqual(await collect(runtime.logs(s.uid, { tail: 0 })), []);

  const follow = runtime.logs(s.uid, { follow: true, tail: 1 })[Symbol.asyncIterator]();
  assert.deepEqual(await follow.next(), { value: 'line 3 of run 2', done: false });
  const later = follow.next();
  writeFileSync(join(dataDir, 'instances', s.uid, 'work', 'go'), '');
  const timeout = setTimeout(() => void follow.return?.(), 10_000);
  assert.deepEqual(await later, { value: 'after go', done: false });
  clearTimeout(timeout);
  // return() ends a follow even while it waits for a line that never comes.
  const pending = follow.next();
  const started = Date.now();
  await follow.return?.();
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.ok(Date.now() - started < 2_000);

  await assert.rejects(collect(runtime.logs('no-such-instance')), /unknown instance no-such-instance/);
});

test('follow ends when the instance is stopped', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const s = spec({ command: ['sh', '-c', 'echo one; exec sleep 300'] });
  await runtime.deploy(s);
  const lines: string[] = [];
  const following = (async () => {
    for await (const line of runtime.logs(s.uid, { follow: true })) lines.push(line);
  })();
  await waitFor(() => lines.includes('one'), 'the first line');
  await runtime.stop(s.uid);
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([following.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000)))]);
  clearTimeout(timer);
  assert.equal(ended, true);
});

test('stats: memory of a running process, CPU of a busy one', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const idle = spec({ command: ['sleep', '300'] });
  const busy = spec({ command: [NODE, '-e', 'for (;;) {}'] });
  await runtime.deploy(idle);
  await runtime.deploy(busy);
  const idleStats = await runtime.stats(idle.uid);
  assert.ok(idleStats.memoryBytes > 0, `memoryBytes ${idleStats.memoryBytes}`);
  assert.equal(idleStats.cpuCores, 0, 'a sleeping process uses no CPU');

  const first = await runtime.stats(busy.uid);
  assert.ok(first.cpuCores > 0.05, `the first call measures over a short window: cpuCores ${first.cpuCores}`);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const busyStats = await runtime.stats(busy.uid);
  assert.ok(busyStats.cpuCores > 0.05 && busyStats.cpuCores < 2.5, `cpuCores ${busyStats.cpuCores}`);
  assert.ok(busyStats.memoryBytes > 10 * 1024 * 1024, `a node process uses more than 10 MiB: ${busyStats.memoryBytes}`);
  await assert.rejects(runtime.stats('no-such-instance'), /unknown instance/);
});

test('an invalid uid is rejected', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  await assert.rejects(runtime.deploy(spec({ command: ['sleep', '1'] }, { uid: '../escape' })), /invalid instance uid/);
  assert.deepEqual(runtime.list(), []);
});

test('no test process is left running', () => {
  const leftovers = killLeftovers();
  assert.deepEqual(leftovers, []);
});

test('volumes: a directory per namespace + workload + volume, 0700, named in LATTICE_VOLUME_<NAME>, kept across a rollout and a new instance', async (t) => {
  const dataDir = tempDataDir(t);
  const runtime = await openRuntime(t, { dataDir });
  const template: WorkloadSpec = { command: ['sh', '-c', 'echo "run in $PWD" >> "$LATTICE_VOLUME_APP_DATA/runs"; exec sleep 600'], volumes: [{ name: 'app-data', mountPath: '/data' }] };
  const first = spec(template);
  await runtime.deploy(first);
  const dir = join(dataDir, 'volumes', 'team-a.web.app-data');
  const runs = join(dir, 'runs');
  await waitFor(() => existsSync(runs) && readFileSync(runs, 'utf8').split('\n').filter(Boolean).length === 1, 'the first run wrote to its volume');
  assert.equal(statSync(dir).mode & 0o777, 0o700);

  // A rollout (a new template) and another instance of the same workload find what was written.
  await runtime.deploy({ ...first, templateHash: 'h2' });
  const second = spec(template, { uid: `${first.uid}-b` });
  await runtime.deploy(second);
  await waitFor(() => readFileSync(runs, 'utf8').split('\n').filter(Boolean).length === 3, 'the next runs appended to the same file');

  // Another workload's volume of the same name is another directory.
  const other = { ...spec(template, { uid: `${first.uid}-c` }), workload: 'api' };
  await runtime.deploy(other);
  await waitFor(() => existsSync(join(dataDir, 'volumes', 'team-a.api.app-data', 'runs')), 'api has its own');
  assert.equal(readFileSync(runs, 'utf8').split('\n').filter(Boolean).length, 3);
});

test('volumes: a workingDir at or under a mountPath is that place in the volume; reclaimPolicy Delete removes the data only when the deleted workload has no instance left here', async (t) => {
  const dataDir = tempDataDir(t);
  const runtime = await openRuntime(t, { dataDir });
  const template: WorkloadSpec = {
    command: ['sh', '-c', 'pwd > where; exec sleep 600'],
    workingDir: '/srv/app',
    volumes: [
      { name: 'site', mountPath: '/srv', reclaimPolicy: 'Delete' },
      { name: 'keep', mountPath: '/keep' },
    ],
  };
  const first = spec(template);
  const second = spec(template, { uid: `${first.uid}-b` });
  await runtime.deploy(first);
  await runtime.deploy(second);
  const site = join(dataDir, 'volumes', 'team-a.web.site');
  const keep = join(dataDir, 'volumes', 'team-a.web.keep');
  await waitFor(() => existsSync(join(site, 'app', 'where')), 'the process to write in its working directory');
  assert.equal(readFileSync(join(site, 'app', 'where'), 'utf8').trim(), join(site, 'app'));

  // A scale-down (a stop without reclaim) keeps everything.
  await runtime.stop(second.uid);
  assert.ok(existsSync(site));
  // The workload is deleted: its last instance here takes the Delete volume along, not the other.
  await runtime.deploy(second);
  await runtime.stop(first.uid, { reclaimVolumes: true });
  assert.ok(existsSync(site), 'another instance of the workload still runs here');
  await runtime.stop(second.uid, { reclaimVolumes: true });
  assert.equal(existsSync(site), false, 'the Delete volume went with the last instance');
  assert.ok(existsSync(keep), 'a Retain volume stays');
});
