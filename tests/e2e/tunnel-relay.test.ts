// The built-in tunnel relay on loopback, with a real agent process and a process workload: a TCP
// echo server exposed as a tunnel gets tcp://127.0.0.1:<port in LATTICE_TUNNEL_PORTS>; bytes
// (1 MB too) come back intact through the control plane; closing the client closes the workload's
// side; 99 streams beside a stalled one are unaffected; only the agent the instance is bound to
// gets URLs, for declared ports only; after the agent restarts, and after the control plane
// restarts, the URL is the same and new connections work.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Instance } from '../../schemas/types.gen.ts';
import { agentCredential, e2eTest, listInstances, restartableControlPlane, scriptWorkload, tempDir, waitFor } from './support.ts';

// A random ten-port range: tests running side by side rarely pick the same one.
const FIRST = 21_000 + Math.floor(Math.random() * 8_000);
const RANGE = { first: FIRST, last: FIRST + 9 };

/**
 * Echoes every connection, and appends "closed" to the file in argv[2] as one that carried data
 * ends (the health check's connections carry none).
 */
const ECHO = `
const { appendFileSync } = require('node:fs');
require('node:net')
  .createServer({ allowHalfOpen: true }, (socket) => {
    let carried = false;
    socket.on('data', () => (carried = true));
    socket.pipe(socket);
    socket.on('error', () => {});
    socket.on('close', () => carried && appendFileSync(process.argv[2], 'closed\\n'));
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

function tunnelUrl(instance: Instance | undefined): string | undefined {
  return instance?.status?.endpoints?.find((e) => e.expose === 'tunnel')?.url;
}

/** Sends payload, half-closes, and resolves with everything the other side sent back. */
function echoThrough(url: string, payload: Buffer): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    });
    socket.end(payload);
  });
}

function closedCount(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

e2eTest(
  'tunnel relay: a process workload\'s tcp port is reached through the control plane; the URL survives an agent restart',
  { timeout: 120_000, config: { tunnelRelay: { address: '127.0.0.1', listenAddress: '127.0.0.1', ports: RANGE } } },
  async (env) => {
    const { user, namespace: ns } = env;
    const agent = await env.startAgent({ name: 'relay-north' });
    const marker = env.marker('echo');
    const closedFile = join(tempDir('relay'), 'closed');
    await user.apply([scriptWorkload('echo', marker, ECHO, {
        args: [marker, closedFile],
        ports: [{ name: 'echo', containerPort: 7000, expose: 'tunnel' }],
        // The tunnel is listed once the instance is ready: once the echo server listens.
        healthCheck: { tcp: { port: 'echo' }, intervalSeconds: 1 },
      })]);

    const url = await waitFor(
      async () => tunnelUrl((await listInstances(user, ns, 'echo'))[0]),
      30_000,
      'the Instance to list its tunnel endpoint',
    );
    const { hostname, port } = new URL(url);
    assert.equal(new URL(url).protocol, 'tcp:');
    assert.equal(hostname, '127.0.0.1');
    assert.ok(Number(port) >= RANGE.first && Number(port) <= RANGE.last, `${url} is in ${RANGE.first}-${RANGE.last}`);
    const [instance] = await listInstances(user, ns, 'echo');
    assert.equal(instance!.status?.conditions?.find((c) => c.type === 'TunnelReady')?.status, 'True');

    assert.equal((await echoThrough(url, Buffer.from('hello through the relay'))).toString(), 'hello through the relay');
    const megabyte = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < megabyte.length; i += 1) megabyte[i] = (i * 31 + (i >> 8)) & 0xff;
    const back = await echoThrough(url, megabyte);
    assert.equal(back.length, megabyte.length, '1 MB comes back whole');
    assert.ok(back.equals(megabyte), '1 MB comes back intact');

    // 100 streams at once, one of them stalled (its client sends 64 MB and reads nothing back): the
    // stalled one is held back by its own window, and the 99 others echo 64 KB each, intact.
    const stalled = connect({ host: hostname, port: Number(port) });
    stalled.pause();
    stalled.on('error', () => {});
    stalled.write(Buffer.alloc(64 * 1024 * 1024, 7));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunk = megabyte.subarray(0, 64 * 1024);
    const echoes = await Promise.all(Array.from({ length: 99 }, () => echoThrough(url, chunk)));
    assert.ok(echoes.every((echo) => echo.equals(chunk)), '99 streams beside a stalled one each echo 64 KB intact');
    assert.ok(!stalled.destroyed && stalled.writableLength > 0, 'the stalled stream is still open, its client still holding bytes it could not send');
    stalled.destroy();

    // The client goes away without a word: the workload's side of the connection closes too.
    const before = closedCount(closedFile);
    const abrupt = connect({ host: hostname, port: Number(port) });
    abrupt.write('ping');
    await new Promise((resolve) => abrupt.once('data', resolve));
    abrupt.destroy();
    await waitFor(() => closedCount(closedFile) > before, 10_000, 'the workload to see its connection closed');

    // The control plane hands out URLs only for ports declared `expose: tunnel` of instances bound to the asking agent.
    const { token } = agentCredential(agent);
    const ask = (body: { instanceUid: string; portName: string }) =>
      fetch(`${env.url}/api/v1/agents/tunnels`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await ask({ instanceUid: instance!.metadata.uid!, portName: 'undeclared' })).status, 403, 'an undeclared port');
    assert.equal((await ask({ instanceUid: 'another-instance', portName: 'echo' })).status, 403, 'an instance not bound to this agent');
    assert.equal((await ask({ instanceUid: instance!.metadata.uid!, portName: 'echo' })).status, 200);

    // The agent restarts (its processes keep running): the same URL, and it carries new connections.
    await agent.kill('SIGKILL');
    await env.startAgent({ name: 'relay-north', dataDir: agent.dataDir, joinToken: null });
    await waitFor(
      async () => {
        const [current] = await listInstances(user, ns, 'echo');
        if (tunnelUrl(current) !== url) return false;
        return (await echoThrough(url, Buffer.from('again')).catch(() => Buffer.alloc(0))).toString() === 'again';
      },
      30_000,
      'the same URL to echo again after the agent restarted',
    );
  },
);

{
  const range = { first: RANGE.last + 1, last: RANGE.last + 10 };
  const cp = restartableControlPlane({ tunnelRelay: { address: '127.0.0.1', listenAddress: '127.0.0.1', ports: range } });
  e2eTest('tunnel relay: after a control-plane restart the tunnel keeps its URL and carries new connections', { timeout: 120_000, controlPlane: cp.start }, async (env) => {
    env.cleanup(() => cp.stop());
    const { user, namespace: ns } = env;
    await env.startAgent({ name: 'relay-south' });
    const marker = env.marker('echo-restart');
    await user.apply([scriptWorkload('echo', marker, ECHO, {
        args: [marker, join(tempDir('relay'), 'closed')],
        ports: [{ name: 'echo', containerPort: 7000, expose: 'tunnel' }],
        healthCheck: { tcp: { port: 'echo' }, intervalSeconds: 1 },
      })]);
    const url = await waitFor(async () => tunnelUrl((await listInstances(user, ns, 'echo'))[0]), 30_000, 'the tunnel endpoint');
    assert.equal((await echoThrough(url, Buffer.from('before'))).toString(), 'before');

    await cp.stop();
    const next = await cp.start();
    await env.retarget(next.url);
    // The port is listened on again at start, from the store; the agent reconnects its relay.
    await waitFor(
      async () => (await echoThrough(url, Buffer.from('after')).catch(() => Buffer.alloc(0))).toString() === 'after',
      30_000,
      'the same URL to echo after the control plane restarted',
    );
    assert.equal(tunnelUrl((await listInstances(user, ns, 'echo'))[0]), url, 'the Instance still lists the same URL');
  });
}
