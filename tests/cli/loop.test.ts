// The CLI on the whole loop: a real agent process runs what `lattice apply --wait` asks for;
// describe and get show it; diff previews its placement; rollout undo brings the earlier spec back
// (the endpoint answers with it); rollout restart replaces the process; scale 0 stops it; delete
// --wait returns once it is gone.
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { Workload } from '../../schemas/types.gen.ts';
import { e2eTest, findPids, getWorkload, helloWorkload, httpText, listInstances, waitFor } from '../e2e/support.ts';
import { CliHome } from './support.ts';

e2eTest('CLI on a real agent: apply --wait, get, describe, diff placement, rollout undo/restart, scale 0, delete --wait', { timeout: 150_000 }, async (env) => {
  const { t, user, namespace: ns } = env;
  await env.startAgent({ name: 'cli-agent' });
  const home = new CliHome(t);
  await home.useClient(user, env.url);
  const marker = env.marker('cli');
  const v1 = home.write('hello.yaml', stringify(helloWorkload({ name: 'hello', marker })));
  const v2 = home.write('hello-v2.yaml', stringify(helloWorkload({ name: 'hello', marker, greeting: 'v2' })));

  assert.equal(await home.ok(['apply', '-f', v1, '--wait', '--timeout', '60s']), 'workload/hello created\nworkload/hello Running (1/1 ready)\n');
  const running = (await getWorkload(user, ns, 'hello'))!;
  const url = running.status!.endpoints![0]!.url;
  assert.match((await httpText(url)) ?? '(no answer)', /hello from lattice \(world\)/);

  assert.match(await home.ok(['get', 'agents']), /^NAME\s+STATUS\s+RUNTIMES\s+AGE\s+VERSION\ncli-agent\s+Ready\s+process\s+\d+s\s+\d+\.\d+\.\d+\n$/);
  assert.match(await home.ok(['get', 'wl', '-o', 'wide']), new RegExp(`^NAME\\s+READY\\s+STATUS\\s+RESTARTS\\s+AGE\\s+ENDPOINTS\\s+IMAGE/COMMAND\\nhello\\s+1/1\\s+Running\\s+0\\s+\\d+s\\s+${url.replace(/\./g, '\\.')}\\s+`));
  assert.match(await home.ok(['get', 'inst']), /^NAME\s+WORKLOAD\s+AGENT\s+STATE\s+RESTARTS\s+AGE\nhello-\S+\s+hello\s+cli-agent\s+Running\s+0\s+\d+s\n$/);
  const describe = await home.ok(['describe', 'workload', 'hello']);
  assert.match(describe, /^Status: +Running: 1\/1 ready, 1 updated, 1 live$/m);
  assert.match(describe, /^ {2}Available +True +MinimumReplicasReady/m);
  assert.match(describe, /^Instances:\n {2}NAME +AGENT +STATE +HEALTH +RESTARTS +CPU +MEMORY +AGE +MESSAGE\n {2}hello-\S+ +cli-agent +Running +Healthy +0 /m);
  assert.match(describe, new RegExp(`^Endpoints:\\n {2}PORT +URL +AGENT\\n {2}http +${url.replace(/\./g, '\\.')} +cli-agent$`, 'm'));
  assert.match(describe, /^ {2}\d+s +Normal +Scheduled +instance hello-\S+ scheduled to cli-agent$/m);
  assert.match(await home.ok(['describe', 'agent', 'cli-agent']), /^Status: +Ready$/m);

  // diff: the new template replaces the running instance on the one agent.
  const diff = await home.run(['diff', '-f', v2]);
  assert.equal(diff.code, 1);
  assert.match(diff.stdout, /^ {2}~ spec\.env\[0\]\.value: "world" → "v2"\n {2}placement once rolled out:\n {4}agent cli-agent: deploy 1, stop hello-\S+ \(replaced\)\n$/m);

  assert.match(await home.ok(['apply', '-f', v2, '--wait', '--timeout', '60s']), /^workload\/hello configured\nworkload\/hello Running \(1\/1 ready\)\n$/);
  const endpoint = async () => (await getWorkload(user, ns, 'hello'))?.status?.endpoints?.[0]?.url;
  await waitFor(async () => /\(v2\)/.test((await httpText((await endpoint())!)) ?? ''), 30_000, 'the v2 greeting');

  // undo: the earlier spec comes back as a new generation, and the process serves it again.
  assert.equal(await home.ok(['rollout', 'undo', 'hello']), 'workload/hello rolled back to generation 1 (now generation 3)\n');
  const undone = (await getWorkload(user, ns, 'hello')) as Workload;
  assert.deepEqual(undone.spec, running.spec);
  await waitFor(async () => /\(world\)/.test((await httpText((await endpoint()) ?? 'http://127.0.0.1:9')) ?? ''), 30_000, 'the world greeting after undo');

  // restart: every instance replaced by a new process.
  const [before] = await listInstances(user, ns, 'hello');
  const pidsBefore = findPids(marker);
  assert.match(await home.ok(['rollout', 'restart', 'hello']), /^workload\/hello restarted \(generation 4\)\n$/);
  await waitFor(
    async () => {
      const instances = await listInstances(user, ns, 'hello');
      const pids = findPids(marker);
      return instances.length === 1 && instances[0]!.metadata.uid !== before!.metadata.uid && instances[0]!.status?.state === 'Running' && pids.length === 1 && pids[0] !== pidsBefore[0];
    },
    30_000,
    'a new instance (and process) after the restart',
  );

  assert.equal(await home.ok(['scale', 'hello', '--replicas', '0']), 'workload/hello scaled to 0\n');
  await waitFor(async () => (await listInstances(user, ns, 'hello')).length === 0 && findPids(marker).length === 0, 30_000, 'no instance and no process at 0 replicas');
  assert.ok(await getWorkload(user, ns, 'hello'), 'scaled to 0, not deleted');

  await home.ok(['scale', 'hello', '--replicas', '1']);
  await waitFor(() => findPids(marker).length === 1, 30_000, 'running again');
  assert.equal(await home.ok(['delete', 'wl', 'hello', '--wait', '--timeout', '60s']), 'workload/hello deletion requested (its instances are stopping)\nworkload/hello deleted\n');
  assert.equal(await getWorkload(user, ns, 'hello'), undefined, '--wait returned once the workload was gone');
  assert.equal(findPids(marker).length, 0, 'its process has stopped');
});
