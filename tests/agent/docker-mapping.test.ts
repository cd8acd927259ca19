// The pure parts of the docker runtime, table-tested: an instance → container create options and
// back (labels, env, ports, limits, volumes, entrypoint/cmd), docker's multiplexed log frames →
// lines, and a docker stats sample → cores and bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerName, createOptions, publishedPorts, recoverRun, volumeLabels, volumeName, volumeRefusal } from '../../agent/runtime/docker/container-spec.ts';
import { describePullProgress, pullFailureReason } from '../../agent/runtime/docker/docker-image.ts';
import { LogLineDecoder } from '../../agent/runtime/docker/docker-logs.ts';
import { statsFromSample } from '../../agent/runtime/docker/docker-stats.ts';
import type { DeploySpec } from '../../agent/runtime/types.ts';

const base: DeploySpec = {
  uid: 'u-1',
  name: 'db-abc',
  namespace: 'alice',
  workload: 'db',
  templateHash: 'h1',
  template: {
    image: 'postgres:16',
    env: [{ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
    ports: [
      { name: 'postgres', containerPort: 5432, protocol: 'tcp', expose: 'tunnel' },
      { name: 'metrics', containerPort: 9187, protocol: 'http', expose: 'none' },
    ],
    resources: { cpu: '1.5', memory: '256Mi' },
    volumes: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
  },
  env: { POSTGRES_PASSWORD: 's3cret' },
};

test('create options: labels, env with PORT, limits, volumes; the env (secrets) stays out of the labels', () => {
  const options = createOptions(base, { run: 2, network: 'bridge', hostPorts: {}, publishAddress: '0.0.0.0' });
  assert.equal(options.name, 'lattice.alice.db-abc.2');
  assert.equal(options.Image, 'postgres:16');
  assert.equal(options.Labels!['lattice.instance'], 'u-1');
  assert.equal(options.Labels!['lattice.run'], '2');
  assert.equal(options.Labels!['lattice.workload'], 'alice/db');
  assert.ok(!JSON.stringify(options.Labels).includes('s3cret'));
  assert.deepEqual(options.Env!.sort(), ['PORT=5432', 'PORT_METRICS=9187', 'PORT_POSTGRES=5432', 'POSTGRES_PASSWORD=s3cret']);
  assert.equal(options.HostConfig!.NanoCpus, 1_500_000_000);
  assert.equal(options.HostConfig!.Memory, 256 * 1024 * 1024);
  assert.deepEqual(options.HostConfig!.RestartPolicy, { Name: 'no' });
  assert.deepEqual(options.HostConfig!.SecurityOpt, ['no-new-privileges']);
  assert.equal(options.HostConfig!.PidsLimit, 1024);
  assert.equal(options.HostConfig!.Privileged, undefined, 'never privileged');
  assert.equal(options.HostConfig!.Binds, undefined, 'no host paths');
  assert.deepEqual(options.HostConfig!.Mounts, [{ Type: 'volume', Source: 'lattice.alice.db.data', Target: '/var/lib/postgresql/data' }]);
  assert.equal(volumeName(base, 'data'), 'lattice.alice.db.data');
  assert.equal(options.Entrypoint, undefined, "without command the image's entrypoint and cmd stay");
  assert.equal(options.Cmd, undefined);
});

test('ports: bridge publishes every port on a host port docker picks (expose none on loopback only); host networking takes the given host ports', () => {
  const bridge = createOptions(base, { run: 0, network: 'bridge', hostPorts: {}, publishAddress: '0.0.0.0' });
  assert.equal(bridge.HostConfig!.NetworkMode, 'bridge');
  assert.deepEqual(bridge.HostConfig!.PortBindings, { '5432/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }], '9187/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  assert.deepEqual(Object.keys(bridge.ExposedPorts!), ['5432/tcp', '9187/tcp']);
  const host = createOptions(base, { run: 0, network: 'host', hostPorts: { '5432': 5432, '9187': 40001 }, publishAddress: '0.0.0.0' });
  assert.equal(host.HostConfig!.NetworkMode, 'host');
  assert.equal(host.HostConfig!.PortBindings, undefined);
  assert.ok(host.Env!.includes('PORT_METRICS=40001'));
  assert.equal(host.Labels!['lattice.ports'], '{"5432":5432,"9187":40001}');
  assert.deepEqual(publishedPorts({ '5432/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }], '9187/tcp': null } as never), { '5432': 49153 });
});

const entrypoints: [string, Partial<DeploySpec['template']>, string[] | undefined, string[] | undefined][] = [
  ['image only', {}, undefined, undefined],
  ['command replaces the entrypoint and drops the cmd', { command: ['httpd', '-f'] }, ['httpd', '-f'], []],
  ['command and args', { command: ['sh', '-c'], args: ['echo hi'] }, ['sh', '-c'], ['echo hi']],
  ['args alone replace the cmd', { args: ['-c', 'max_connections=50'] }, undefined, ['-c', 'max_connections=50']],
];
for (const [name, template, entrypoint, cmd] of entrypoints) {
  test(`command/args as in Kubernetes: ${name}`, () => {
    const options = createOptions({ ...base, template: { image: 'x:1', ...template } }, { run: 0, network: 'host', hostPorts: {}, publishAddress: '127.0.0.1' });
    assert.deepEqual(options.Entrypoint, entrypoint);
    assert.deepEqual(options.Cmd, cmd);
  });
}

test('a run is recovered from its labels and env: only the variables the template names come back', () => {
  const options = createOptions(base, { run: 3, network: 'host', hostPorts: { '5432': 5432, '9187': 9187 }, publishAddress: '127.0.0.1' });
  const recovered = recoverRun(options.Labels, [...options.Env!, 'PATH=/usr/bin', 'PGDATA=/var/lib/postgresql/data']);
  assert.deepEqual(recovered, { spec: base, run: 3, hostPorts: { '5432': 5432, '9187': 9187 } });
  assert.equal(recoverRun({ 'lattice.instance': 'u-1' }, []), undefined, 'no spec label');
  assert.equal(recoverRun({ ...options.Labels, 'lattice.spec': '{not json' }, []), undefined);
  assert.equal(recoverRun({ ...options.Labels, 'lattice.instance': 'other' }, []), undefined, 'a spec of another instance');
});

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('log frames → lines: lines spanning frames and chunks, several lines a frame, stdout and stderr apart, CRLF', () => {
  const decoder = new LogLineDecoder();
  const bytes = Buffer.concat([frame(1, 'first\nsec'), frame(2, 'an error\r\n'), frame(1, 'ond\nthird'), frame(1, '\nlast without newline')]);
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 5) lines.push(...decoder.push(bytes.subarray(i, i + 5)));
  lines.push(...decoder.end());
  assert.deepEqual(lines, ['first', 'an error', 'second', 'third', 'last without newline']);
});

test('stats sample → cores and bytes, as the docker CLI computes them', () => {
  const sample = {
    cpu_stats: { cpu_usage: { total_usage: 3_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 18_000_000_000 },
    memory_stats: { usage: 50_000_000, stats: { total_inactive_file: 10_000_000 } },
  };
  assert.deepEqual(statsFromSample(sample), { cpuCores: 1, memoryBytes: 40_000_000 });
  assert.deepEqual(statsFromSample({ ...sample, memory_stats: { usage: 50_000_000, stats: { inactive_file: 20_000_000 } } }).memoryBytes, 30_000_000, 'cgroup v2');
  assert.equal(statsFromSample({ ...sample, precpu_stats: {} }).cpuCores, 0, 'no previous sample: no CPU figure');
  assert.deepEqual(statsFromSample({}), { cpuCores: 0, memoryBytes: 0 });
});

test('pull messages: progress summed over layers; not-found and other failures in words naming the image', () => {
  const layers = new Map([['a', { current: 5_000_000, total: 10_000_000 }], ['b', { current: 2_500_000, total: 2_500_000 }]]);
  assert.equal(describePullProgress('postgres:16', layers), 'pulling postgres:16: 7.5 MB of 12.5 MB (2 layers)');
  assert.equal(describePullProgress('postgres:16', new Map()), 'pulling postgres:16');
  assert.equal(pullFailureReason('nope:1', '(HTTP code 404) unexpected - manifest unknown: manifest unknown', 404), 'image not found: nope:1 (manifest unknown: manifest unknown)');
  assert.equal(pullFailureReason('x:1', 'dial tcp: connection refused'), 'cannot pull image x:1: dial tcp: connection refused');
});

test('names never collide across tenants: bob/ice-db and bob-ice/db get two volumes and two container names', () => {
  const bob = { namespace: 'bob', workload: 'ice-db', name: 'ice-db-x1' };
  const bobIce = { namespace: 'bob-ice', workload: 'db', name: 'db-x1' };
  assert.notEqual(volumeName(bob, 'data'), volumeName(bobIce, 'data'));
  assert.notEqual(containerName({ namespace: 'bob', name: 'ice-db-x1' }, 0), containerName({ namespace: 'bob-ice', name: 'db-x1' }, 0));
  assert.notEqual(volumeName({ namespace: 'a', workload: 'b-c' }, 'd'), volumeName({ namespace: 'a', workload: 'b' }, 'c-d'));
});

test('a volume is mounted only for the workload its labels name', () => {
  const mine = { namespace: 'bob', workload: 'db' };
  const rows: [string, Record<string, string> | null, RegExp | undefined][] = [
    ['its own labels', volumeLabels(mine, 'data'), undefined],
    ['another workload of another tenant', volumeLabels({ namespace: 'bob-ice', workload: 'db' }, 'data'), /exists but belongs to bob-ice\/db/],
    ['another volume of the same workload', volumeLabels(mine, 'logs'), /exists but belongs to bob\/db/],
    ['no labels (made by hand, or by an older Lattice)', null, /was not created by Lattice for this workload; it is not mounted/],
  ];
  for (const [name, labels, want] of rows) {
    const refusal = volumeRefusal(mine, 'data', labels);
    if (want) assert.match(refusal ?? '', want, name);
    else assert.equal(refusal, undefined, name);
  }
});
