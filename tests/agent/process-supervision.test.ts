// Supervision by the process runtime: restart policies with crash-loop backoff, health checks as
// liveness probes, and adoption of running processes by a new runtime (an agent restart).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ProcessRuntime } from '../../agent/runtime/process-runtime.ts';
import type { ObservedInstance } from '../../agent/runtime/types.ts';
import { cleanupRoot, isAlive, killLeftovers, openRuntime, sleep, spec, tempDataDir, waitFor, waitGone } from './process-helpers.ts';

after(cleanupRoot);

test('restartPolicy Always: a crashing process is restarted with a growing back-off', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), backoff: { initialMs: 300, maxMs: 5_000 } });
  const seen: ObservedInstance[] = [];
  // When each crash was reported (the back-off starts then) and when each run started.
  const crashedAt: number[] = [];
  const startedAt: number[] = [];
  runtime.onChange((instance) => {
    seen.push(instance);
    if (instance.state === 'Failed') crashedAt.push(Date.now());
    const started = instance.startedAt ? Date.parse(instance.startedAt) : undefined;
    if (started !== undefined && started !== startedAt[startedAt.length - 1]) startedAt.push(started);
  });
  const s = spec({ command: ['sh', '-c', 'echo crashing; exit 1'], restartPolicy: 'Always' });
  await runtime.deploy(s);
  await waitFor(() => runtime.list()[0]!.restarts >= 3, '3 restarts');

  assert.ok(startedAt.length >= 4 && crashedAt.length >= 3, `starts ${startedAt}, crashes ${crashedAt}`);
  // The wait between a crash and the next start: 300, 600, 1200 ms (plus timer lateness).
  const gaps = [0, 1, 2].map((i) => startedAt[i + 1]! - crashedAt[i]!);
  assert.ok(gaps[0]! >= 295, `gaps ${gaps}`);
  assert.ok(gaps[1]! >= 595 && gaps[1]! >= gaps[0]!, `gaps ${gaps}`);
  assert.ok(gaps[2]! >= 1_195 && gaps[2]! > gaps[1]!, `gaps ${gaps}`);

  const backoffMessages = [...new Set(seen.filter((i) => i.state === 'Failed').map((i) => i.message))];
  assert.deepEqual(backoffMessages.slice(0, 3), [
    'back-off 0.3s restarting failed process (exit code 1)',
    'back-off 0.6s restarting failed process (exit code 1)',
    'back-off 1.2s restarting failed process (exit code 1)',
  ]);
  const waiting = seen.find((i) => i.state === 'Failed');
  assert.equal(waiting?.exitCode, 1);
  assert.deepEqual(waiting?.endpoints, []);
  // Restart counts only go up, one at a time.
  const counts = seen.map((i) => i.restarts);
  assert.ok(counts.every((n, i) => i === 0 || n === counts[i - 1] || n === counts[i - 1]! + 1), `restarts ${counts}`);
});

test('restartPolicy OnFailure: exit 0 ends as Exited, without a restart; exit 1 is restarted', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), backoff: { initialMs: 100 } });
  const ok = spec({ command: ['sh', '-c', 'exit 0'], restartPolicy: 'OnFailure' });
  const bad = spec({ command: ['sh', '-c', 'exit 1'], restartPolicy: 'OnFailure' });
  await runtime.deploy(ok);
  await runtime.deploy(bad);
  const exited = await waitFor(() => runtime.list().find((i) => i.uid === ok.uid && i.state === 'Exited'), 'Exited');
  assert.equal(exited.exitCode, 0);
  assert.equal(exited.restarts, 0);
  await waitFor(() => runtime.list().find((i) => i.uid === bad.uid && i.restarts >= 2), 'exit 1 restarted');
  await sleep(500); // longer than the back-off
  const still = runtime.list().find((i) => i.uid === ok.uid);
  assert.equal(still?.state, 'Exited');
  assert.equal(still?.restarts, 0);
  assert.equal(runtime.pidOf(ok.uid), undefined);
});

test('restartPolicy Always restarts a process that exited 0 too', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), backoff: { initialMs: 100 } });
  const seen: ObservedInstance[] = [];
  runtime.onChange((instance) => seen.push(instance));
  const s = spec({ command: ['sh', '-c', 'exit 0'] });
  await runtime.deploy(s);
  await waitFor(() => runtime.list()[0]!.restarts >= 1, 'a restart');
  assert.ok(seen.some((i) => i.state === 'Failed' && i.message === 'back-off 0.1s restarting exited process (exit code 0)'), JSON.stringify(seen.map((i) => i.message)));
});

test('restartPolicy Never: exit 3 ends as Failed with exit code 3 and no restart', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), backoff: { initialMs: 100 } });
  const s = spec({ command: ['sh', '-c', 'exit 3'], restartPolicy: 'Never' });
  await runtime.deploy(s);
  const failed = await waitFor(() => runtime.list().find((i) => i.state === 'Failed'), 'Failed');
  assert.equal(failed.exitCode, 3);
  assert.equal(failed.restarts, 0);
  assert.equal(failed.message, 'process failed (exit code 3)');
  await sleep(400);
  assert.equal(runtime.list()[0]?.restarts, 0);
  assert.equal(runtime.list()[0]?.state, 'Failed');
});

test('a process killed by a signal reports 128 + the signal number', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const s = spec({ command: ['sleep', '300'], restartPolicy: 'Never' });
  await runtime.deploy(s);
  process.kill(runtime.pidOf(s.uid)!, 'SIGKILL');
  const failed = await waitFor(() => runtime.list().find((i) => i.state === 'Failed'), 'Failed');
  assert.equal(failed.exitCode, 137);
  assert.equal(failed.message, 'process failed (killed by SIGKILL, exit code 137)');
});

test('a failing exec health check makes the instance Unhealthy and restarts it', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), backoff: { initialMs: 100 } });
  const seen: ObservedInstance[] = [];
  runtime.onChange((instance) => seen.push(instance));
  const s = spec({
    command: ['sleep', '300'],
    restartPolicy: 'Always',
    healthCheck: { exec: { command: ['sh', '-c', 'exit 1'] }, intervalSeconds: 1, failureThreshold: 2 },
  });
  await runtime.deploy(s);
  const firstPid = runtime.pidOf(s.uid)!;
  assert.equal(runtime.list()[0]?.state, 'Starting');
  await waitFor(() => runtime.list()[0]!.restarts >= 1 && runtime.pidOf(s.uid) !== undefined, 'a restart');
  assert.notEqual(runtime.pidOf(s.uid), firstPid);
  await waitGone(firstPid);
  const unhealthy = seen.find((i) => i.health === 'Unhealthy');
  assert.ok(unhealthy, 'reported Unhealthy');
  assert.equal(unhealthy.restarts, 0);
  assert.match(unhealthy.message ?? '', /^health check failed 2 times: exec sh exited with code 1; restarting$/);
  assert.ok(seen.some((i) => /^health check failing \(1\/2\): exec sh exited with code 1$/.test(i.message ?? '')));
  assert.ok(!seen.some((i) => i.state === 'Running'), 'never Running while the check fails');
});

test('a passing exec check makes it Running; under Never an Unhealthy process is left running', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  // healthy while the file "sick" does not exist in its work dir
  const s = spec({
    command: ['sleep', '300'],
    restartPolicy: 'Never',
    healthCheck: { exec: { command: ['sh', '-c', 'test ! -f sick'] }, intervalSeconds: 1, failureThreshold: 2 },
  });
  await runtime.deploy(s);
  await waitFor(() => runtime.list()[0]?.state === 'Running' && runtime.list()[0]?.health === 'Healthy', 'Running and Healthy');
  const pid = runtime.pidOf(s.uid)!;
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  writeFileSync(join(`/proc/${pid}/cwd`, 'sick'), '');
  const unhealthy = await waitFor(() => runtime.list().find((i) => i.health === 'Unhealthy'), 'Unhealthy');
  assert.equal(unhealthy.state, 'Running');
  assert.deepEqual(unhealthy.endpoints, []);
  assert.match(unhealthy.message ?? '', /health check failed 2 times/);
  await sleep(300);
  assert.equal(runtime.pidOf(s.uid), pid);
  assert.ok(isAlive(pid));
  assert.equal(runtime.list()[0]?.restarts, 0);
});

test('a tcp health check on a named port, probed on the host port given as PORT_<NAME>', async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const s = spec({
    command: [process.execPath, '-e', "require('net').createServer((s) => s.end()).listen(Number(process.env.PORT_DB), '127.0.0.1')"],
    ports: [{ name: 'db', containerPort: 5432, expose: 'host' }],
    healthCheck: { tcp: { port: 'db' }, intervalSeconds: 1, failureThreshold: 30 },
  });
  await runtime.deploy(s);
  const running = await waitFor(() => runtime.list().find((i) => i.state === 'Running'), 'Running');
  assert.match(running.endpoints[0]!.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(running.endpoints[0]!.url, 'tcp://127.0.0.1:5432');
});

test('a new runtime adopts a running process without restarting it, and restarts it when it dies', async (t) => {
  const dataDir = tempDataDir(t);
  const a = await openRuntime(t, { dataDir });
  const s = spec({ command: ['sleep', '300'], restartPolicy: 'Always' });
  await a.deploy(s);
  const pid = a.pidOf(s.uid)!;
  await a.close();
  await sleep(300);
  assert.ok(isAlive(pid), 'close() leaves the process running');

  const b = await openRuntime(t, { dataDir, backoff: { initialMs: 100 } });
  assert.equal(b.pidOf(s.uid), pid);
  const [adopted] = b.list();
  assert.equal(adopted?.uid, s.uid);
  assert.equal(adopted?.state, 'Running');
  assert.equal(adopted?.restarts, 0);
  assert.equal(adopted?.templateHash, 'h1');
  await b.deploy(s); // the agent re-sends what should run: a no-op
  await sleep(400);
  assert.equal(b.pidOf(s.uid), pid);
  assert.equal(b.list()[0]?.restarts, 0);

  // Not its child: B notices the death by polling and applies the restart policy.
  process.kill(pid, 'SIGKILL');
  await waitFor(() => b.list()[0]!.restarts === 1 && b.pidOf(s.uid) !== undefined, 'the restart');
  const newPid = b.pidOf(s.uid)!;
  assert.notEqual(newPid, pid);
  assert.ok(isAlive(newPid));
  await b.stop(s.uid);
  await waitGone(newPid);
  assert.deepEqual(b.list(), []);
});

test('B.stop kills an adopted process', async (t) => {
  const dataDir = tempDataDir(t);
  const a = await openRuntime(t, { dataDir });
  const s = spec({ command: ['sh', '-c', 'trap "" TERM; sleep 300 & wait'] }); // ignores SIGTERM
  await a.deploy(s);
  const pid = a.pidOf(s.uid)!;
  await a.close();
  const b = await openRuntime(t, { dataDir, stopGraceMs: 300 });
  assert.equal(b.pidOf(s.uid), pid);
  await b.stop(s.uid);
  await waitGone(pid);
  assert.deepEqual(b.list(), []);
});

test('a process that died while no runtime ran is started again (Always) or reported (Never)', async (t) => {
  const dataDir = tempDataDir(t);
  const a = await openRuntime(t, { dataDir });
  const always = spec({ command: ['sleep', '300'], restartPolicy: 'Always' });
  const never = spec({ command: ['sleep', '300'], restartPolicy: 'Never' });
  await a.deploy(always);
  await a.deploy(never);
  const pids = [a.pidOf(always.uid)!, a.pidOf(never.uid)!];
  await a.close();
  for (const pid of pids) process.kill(-pid, 'SIGKILL');
  for (const pid of pids) await waitGone(pid);

  const b = await openRuntime(t, { dataDir, backoff: { initialMs: 100 } });
  const restarted = await waitFor(() => b.list().find((i) => i.uid === always.uid && i.state === 'Running'), 'the restarted instance');
  assert.equal(restarted.restarts, 1);
  const newPid = b.pidOf(always.uid)!;
  assert.ok(!pids.includes(newPid) && isAlive(newPid));
  const failed = b.list().find((i) => i.uid === never.uid);
  assert.equal(failed?.state, 'Failed');
  assert.equal(failed?.message, 'process failed (exit code unknown, while the agent was not running)');
  assert.equal(failed?.exitCode, undefined);
});

test('a finished instance stays finished across a runtime restart', async (t) => {
  const dataDir = tempDataDir(t);
  const a = await openRuntime(t, { dataDir });
  const s = spec({ command: ['sh', '-c', 'exit 0'], restartPolicy: 'OnFailure' });
  await a.deploy(s);
  await waitFor(() => a.list()[0]?.state === 'Exited', 'Exited');
  await a.close();
  const b = await ProcessRuntime.open({ dataDir, backoff: { initialMs: 100 } });
  t.after(() => b.close());
  await sleep(300);
  assert.equal(b.list()[0]?.state, 'Exited');
  assert.equal(b.list()[0]?.restarts, 0);
  assert.equal(b.list()[0]?.exitCode, 0);
});

test('no test process is left running', () => {
  assert.deepEqual(killLeftovers(), []);
});
