// The CLI commands that need what an agent measures or holds, against a real agent: `logs`
// (selecting its context like every other command, refreshing an expired token), `top` and
// `describe` with CPU and memory.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { CliHome } from '../cli/support.ts';
import { e2eTest, scriptWorkload, waitFor, getWorkload } from './support.ts';

e2eTest('lattice logs: --context, LATTICE_CONTEXT and an access token the server refuses, like get', {}, async (env) => {
  const { user, namespace: ns, url } = env;
  await env.startAgent({ name: 'logs-host' });
  await user.apply([scriptWorkload('greeter', env.marker('greeter'), "console.log('hello from greeter'); setInterval(() => {}, 1 << 30)")]);
  await waitFor(async () => (await getWorkload(user, ns, 'greeter'))?.status?.phase === 'Running', 20_000, 'greeter Running');

  const home = new CliHome(env.t);
  await home.ok(['login', '--server', url, '--username', 'tenant', '--name', 'tenant'], { input: 'tenant-password-1\n' });
  // The current context points elsewhere: only a command that honours the selection finds the log.
  const config = home.readConfig();
  config.contexts.elsewhere = { server: 'http://127.0.0.1:9', token: 'not-a-token' };
  config.currentContext = 'elsewhere';
  writeFileSync(home.config, JSON.stringify(config));

  assert.match(await home.ok(['logs', 'greeter', '--context', 'tenant']), /hello from greeter/);
  assert.match(await home.ok(['logs', 'greeter'], { env: { LATTICE_CONTEXT: 'tenant' } }), /hello from greeter/);
  // The server refuses the access token (expired, say) while the config still trusts it: a 401,
  // then a refresh with the refresh token, then the log.
  const refused = home.readConfig();
  refused.contexts.tenant!.token = 'not-a-valid-token';
  writeFileSync(home.config, JSON.stringify(refused));
  assert.match(await home.ok(['logs', 'greeter', '--context', 'tenant']), /hello from greeter/);
  assert.notEqual(home.readConfig().contexts.tenant!.token, 'not-a-valid-token', 'the token was refreshed');
  const failed = await home.run(['logs', 'greeter']);
  assert.notEqual(failed.code, 0, 'the current context is the one that does not work');
});

e2eTest('lattice top (workloads, instances, agents) and describe show the CPU and memory the agent measures', {}, async (env) => {
  const { user, namespace: ns, url } = env;
  await env.startAgent({ name: 'top-host', env: { LATTICE_AGENT_STATS_SECONDS: '0.5' } });
  // About 20 MB held, and a little CPU.
  await user.apply([scriptWorkload('holder', env.marker('holder'), "const held = Buffer.alloc(20 * 1024 * 1024, 1); setInterval(() => held[0]++, 50)", { replicas: 2 })]);
  await waitFor(async () => (await getWorkload(user, ns, 'holder'))?.status?.readyReplicas === 2, 20_000, 'holder Running twice');
  const home = new CliHome(env.t);
  await home.useClient(user, url);

  const mib = (text: string) => Number(/^(\d+)Mi$/.exec(text)?.[1]);
  const rowsOf = (table: string) => table.trim().split('\n').slice(1).map((line) => line.trim().split(/\s{2,}/));
  const workloads = rowsOf(await home.ok(['top']));
  assert.equal(workloads.length, 1);
  assert.equal(workloads[0]![0], 'holder');
  assert.equal(workloads[0]![1], '2');
  assert.ok(mib(workloads[0]![3]!) >= 40, `two instances each holding 20 MB: ${workloads[0]![3]}`);

  const instances = rowsOf(await home.ok(['top', 'instances']));
  assert.equal(instances.length, 2);
  for (const row of instances) {
    const [name, workload, agent, cpu, memory] = row;
    assert.match(name!, /^holder-/);
    assert.equal(workload, 'holder');
    assert.equal(agent, 'top-host');
    assert.match(cpu!, /^(\d+m|\d+)$/, JSON.stringify(row));
    assert.ok(mib(memory!) >= 20, `${name} holds 20 MB: ${memory}`);
  }
  const agents = rowsOf(await home.ok(['top', 'agents']));
  const host = agents.find((row) => row[0] === 'top-host');
  assert.equal(host?.[1], '2');
  assert.match(host?.[4] ?? '', /^\d+(m)? cpu, \S+$/);

  // The agent samples every instance (here every 0.5 s) and hands out the last 15 minutes.
  const series = await waitFor(async () => {
    const [first] = (await user.stats(ns, 'holder')).items;
    const points = first && 'series' in first ? (first.series ?? []) : [];
    return points.length >= 3 ? points : undefined;
  }, 10_000, 'three samples');
  assert.ok(series.every((p, i) => i === 0 || Date.parse(p.at) > Date.parse(series[i - 1]!.at)), 'oldest first');
  assert.ok(series.every((p) => p.memoryBytes >= 20 * 1024 * 1024), 'each reading holds the 20 MB');

  const described = await home.ok(['describe', 'workload', 'holder']);
  assert.match(described, /NAME\s+AGENT\s+STATE\s+HEALTH\s+RESTARTS\s+CPU\s+MEMORY/);
  assert.match(described, /holder-\S+\s+top-host\s+Running\s+\S+\s+0\s+\S+\s+\d+Mi/);
  const instance = instances[0]![0]!;
  assert.match(await home.ok(['describe', 'instance', instance]), /^Memory:\s+\d+Mi$/m);
});

e2eTest('apply --wait tells the truth: a process that exits at once fails the wait with its exit code and last lines; one that stays up passes only after minReadySeconds', {}, async (env) => {
  const { user, url } = env;
  await env.startAgent({ name: 'wait-host' });
  const home = new CliHome(env.t);
  await home.useClient(user, url);
  const crasher = scriptWorkload('crasher', env.marker('crasher'), "console.log('starting up'); console.error('fatal: no config file'); process.exit(3)");
  const failed = await home.run(['apply', '-f', home.write('crasher.json', JSON.stringify(crasher)), '--wait'], { timeoutMs: 60_000 });
  assert.notEqual(failed.code, 0, failed.stdout);
  assert.match(failed.stderr, /workload\/crasher did not come up: instance crasher-\S+ exited with code 3( \(restarted \d+ times?\))?; its last lines:\n {2}starting up\n {2}fatal: no config file/);

  const steady = scriptWorkload('steady', env.marker('steady'), "console.log('up'); setInterval(() => {}, 1 << 30)", { minReadySeconds: 3 });
  const started = Date.now();
  const out = await home.ok(['apply', '-f', home.write('steady.json', JSON.stringify(steady)), '--wait']);
  assert.match(out, /workload\/steady Running \(1\/1 ready\)/);
  assert.ok(Date.now() - started >= 3_000, 'Running only once the instance has been up for minReadySeconds');
});
