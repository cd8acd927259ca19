// CPU and memory limits of process workloads, enforced through the machine's real control groups
// (cgroup v2, or v1 where that is what is mounted, as on these machines): a process that outgrows
// its memory is killed and says so, a busy loop forked by the command gets no more CPU than its
// limit, the group goes with the instance; where no group can be made, the Instance says the
// limits are not enforced.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { detectCgroups, withinGroups } from '../../agent/runtime/cgroup-limits.ts';
import type { ObservedInstance } from '../../agent/runtime/types.ts';
import { NODE, ROOT, cleanupRoot, openRuntime, sleep, spec, tempDataDir, waitFor } from './process-helpers.ts';

after(cleanupRoot);

const support = detectCgroups();
const skip = 'unavailable' in support && process.env.CI !== 'true' ? `control groups cannot be made here (${support.unavailable})` : false;
if (skip) console.log(`# skipping the enforced-limits tests: ${skip}`);

function limitsCondition(instance: ObservedInstance | undefined) {
  return instance?.conditions?.find((c) => c.type === 'LimitsEnforced');
}

/** The instance's group directories, in whichever hierarchy this machine has. */
function groupDirs(uid: string): string[] {
  return ['lattice', 'cpu/lattice', 'memory/lattice'].map((parent) => join('/sys/fs/cgroup', parent, uid)).filter((dir) => existsSync(dir));
}

test('a process that outgrows its memory limit is killed, and its exit says out of memory', { skip }, async (t) => {
  assert.ok('driver' in support, `control groups must be available with CI=true: ${'unavailable' in support ? support.unavailable : ''}`);
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const s = spec({
    command: [NODE, '-e', 'const kept = []; for (let i = 0; i < 400; i++) kept.push(Buffer.alloc(1 << 20, 1)); console.log("survived")'],
    resources: { memory: '64Mi' },
    restartPolicy: 'Never',
  });
  await runtime.deploy(s);
  const failed = await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Failed'), 'the hog to be killed', 15_000);
  assert.equal(failed.exitCode, 137);
  assert.match(failed.message ?? '', /killed by SIGKILL, exit code 137, out of memory \(limit 64Mi\)/);
  assert.deepEqual(
    { status: limitsCondition(failed)?.status, reason: limitsCondition(failed)?.reason, message: limitsCondition(failed)?.message },
    { status: 'True', reason: 'ControlGroup', message: `memory 64Mi enforced with ${support.driver.name}` },
  );
  assert.ok(groupDirs(s.uid).length > 0, 'the group exists while the instance does');
  await runtime.stop(s.uid);
  assert.deepEqual(groupDirs(s.uid), [], 'stop removes the group');
});

test('a busy loop the command forks gets no more CPU than the limit', { skip }, async (t) => {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  // The loop runs in a child of the shell: what the process forks is inside the group too.
  const s = spec({ command: ['sh', '-c', 'while :; do :; done & wait'], resources: { cpu: '100m' } });
  await runtime.deploy(s);
  await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Running'), 'the loop to run');
  await sleep(1_000);
  await runtime.stats(s.uid);
  await sleep(2_000);
  // Without the limit the loop takes a whole core (1.0); with it, 0.1.
  const { cpuCores } = await runtime.stats(s.uid);
  assert.ok(cpuCores < 0.3, `the loop used ${cpuCores.toFixed(2)} cores under a 100m limit`);
  assert.equal(limitsCondition(runtime.list().find((i) => i.uid === s.uid))?.status, 'True');
});

test('where no control group can be made, the instance runs and says its limits are not enforced', async (t) => {
  const noCgroups = detectCgroups(mkdtempSync(join(ROOT, 'no-cgroups-')));
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t), cgroups: noCgroups });
  const s = spec({ command: ['sleep', '600'], resources: { cpu: '250m', memory: '64Mi' } });
  await runtime.deploy(s);
  const running = await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Running'), 'sleep to run');
  const condition = limitsCondition(running);
  assert.equal(condition?.status, 'False');
  assert.equal(condition?.reason, 'LimitsNotEnforced');
  assert.match(condition?.message ?? '', /^limits not enforced \(cpu 250m and memory 64Mi\): no cgroup hierarchy with the cpu and memory controllers is mounted at /);
  assert.ok(condition?.lastTransitionTime);

  const unlimited = spec({ command: ['sleep', '600'] });
  await runtime.deploy(unlimited);
  const plain = await waitFor(() => runtime.list().find((i) => i.uid === unlimited.uid && i.state === 'Running'), 'the unlimited one to run');
  assert.equal(limitsCondition(plain), undefined, 'no condition without limits');
});

test('a command that does not exist still fails to start as "command not found" when it would run in a group', async (t) => {
  assert.throws(() => withinGroups(['/nonexistent/cgroup.procs'], { file: 'no-such-command-here', args: [], path: '/usr/bin:/bin', cwd: '/' }), { code: 'ENOENT' });
  assert.deepEqual(withinGroups([], { file: 'anything', args: ['a'], path: '', cwd: '/' }), { file: 'anything', args: ['a'] });
  if (skip) return;
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const s = spec({ command: ['no-such-command-here'], resources: { memory: '64Mi' }, restartPolicy: 'Never' });
  await runtime.deploy(s);
  const failed = await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Failed'), 'the start to fail');
  assert.equal(failed.message, 'command not found: no-such-command-here');
});
