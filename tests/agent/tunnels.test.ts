// Tunnels around a real process runtime: the ngrok service cannot be reached from here, so the
// success path uses a provider that forwards nothing but answers like one; the real @ngrok/ngrok
// is exercised on its failure path, against a loopback stand-in for its edge (here and in
// tests/e2e/docker.test.ts). The host endpoint is always kept.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { RuntimeRouter } from '../../agent/runtime/runtime-router.ts';
import { NgrokProvider } from '../../agent/tunnels/ngrok-provider.ts';
import type { ObservedInstance } from '../../agent/runtime/types.ts';
import type { Tunnel, TunnelProvider, TunnelTarget } from '../../agent/tunnels/tunnel-provider.ts';
import { TunnelingRuntime } from '../../agent/tunnels/tunneling-runtime.ts';
import { assertStaysOnLoopback, ngrokEdgeStandIn } from '../support/loopback-only.ts';
import { NODE, openRuntime, spec, tempDataDir, waitFor } from './process-helpers.ts';

class RecordingProvider implements TunnelProvider {
  readonly name = 'test';
  readonly opened: TunnelTarget[] = [];
  readonly closed: string[] = [];
  failures = 0;

  async open(target: TunnelTarget): Promise<Tunnel> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('failed to connect session');
    }
    this.opened.push(target);
    const url = `tcp://tunnel.test:${10_000 + this.opened.length}`;
    return { url, close: async () => void this.closed.push(url) };
  }
}

const SERVER = "require('net').createServer((s) => s.end('hi')).listen(Number(process.env.PORT), '127.0.0.1')";

function tunnelSpec() {
  return spec({
    command: [NODE, '-e', SERVER],
    ports: [{ name: 'db', containerPort: 5432, protocol: 'tcp', expose: 'tunnel' }],
    healthCheck: { tcp: { port: 'db' }, intervalSeconds: 1 },
  });
}

function tunnelCondition(instance: ObservedInstance | undefined) {
  return instance?.conditions?.find((c) => c.type === 'TunnelReady');
}

test('a tunnel opens to the host endpoint once the instance is ready, adds its URL, retries after a failure and closes on stop', async (t) => {
  const provider = new RecordingProvider();
  provider.failures = 1;
  const runtime = new TunnelingRuntime(new RuntimeRouter([await openRuntime(t, { dataDir: tempDataDir(t) })]), { provider, retryInitialMs: 100 });
  const seen: ObservedInstance[] = [];
  runtime.onChange((i) => seen.push(i));
  const instance = tunnelSpec();
  await runtime.deploy(instance);
  const failed = await waitFor(() => seen.find((i) => tunnelCondition(i)?.status === 'False'), 'TunnelReady=False after the first failure', 15_000);
  assert.equal(tunnelCondition(failed)?.reason, 'TunnelFailed');
  assert.match(tunnelCondition(failed)?.message ?? '', /port db: test: failed to connect session \(retrying in 0s\); the host endpoint still works/);
  assert.ok(failed.endpoints.some((e) => e.expose === 'host'), 'the host endpoint is there while the tunnel fails');

  const open = await waitFor(() => runtime.list().find((i) => tunnelCondition(i)?.status === 'True'), 'TunnelReady=True after the retry', 15_000);
  const host = open.endpoints.find((e) => e.expose === 'host')!;
  // The tunnel opened last (on a machine under load a run may restart, on a new host port, and
  // the tunnel is opened again to it).
  const url = `tcp://tunnel.test:${10_000 + provider.opened.length}`;
  assert.deepEqual(open.endpoints.find((e) => e.expose === 'tunnel'), { port: 'db', url, expose: 'tunnel' });
  const target = provider.opened.at(-1)!;
  assert.equal(target.host, '127.0.0.1');
  assert.equal(`tcp://127.0.0.1:${target.port}`, host.url, 'the tunnel forwards to the host endpoint');
  assert.equal(target.protocol, 'tcp');

  await runtime.stop(instance.uid);
  assert.equal(provider.closed.at(-1), url, 'stop closes it');
  assert.equal(provider.closed.length, provider.opened.length, 'every tunnel opened is closed');
  await runtime.close();
});

test('an instance that stops being ready lists neither endpoint, and TunnelReady is no longer True', async (t) => {
  const provider = new RecordingProvider();
  const runtime = new TunnelingRuntime(new RuntimeRouter([await openRuntime(t, { dataDir: tempDataDir(t) })]), { provider });
  t.after(() => runtime.close());
  // Answers its health check for a second, then stops listening (and keeps running).
  const flapping = "const s = require('net').createServer((c) => c.end('hi')).listen(Number(process.env.PORT), '127.0.0.1'); setTimeout(() => s.close(), 1000); setInterval(() => {}, 1000)";
  const instance = spec({
    command: [NODE, '-e', flapping],
    ports: [{ name: 'db', containerPort: 5432, protocol: 'tcp', expose: 'tunnel' }],
    healthCheck: { tcp: { port: 'db' }, intervalSeconds: 1, failureThreshold: 1 },
  });
  // Every report, not a poll of the current state: the Unhealthy moment lasts only until the
  // restart (a liveness failure), which a slow poll on a loaded machine can miss.
  const seen: ObservedInstance[] = [];
  runtime.onChange((i) => seen.push(i));
  await runtime.deploy(instance);
  const open = await waitFor(() => runtime.list().find((i) => tunnelCondition(i)?.status === 'True'), 'TunnelReady=True', 15_000);
  assert.deepEqual(open.endpoints.map((e) => e.expose), ['host', 'tunnel']);
  const unready = await waitFor(() => seen.find((i) => i.health === 'Unhealthy'), 'the health check failing', 15_000);
  assert.deepEqual(unready.endpoints, []);
  assert.equal(tunnelCondition(unready)?.status, 'Unknown');
  assert.equal(tunnelCondition(unready)?.reason, 'WaitingForEndpoint');
});

test('without a tunnel service: TunnelReady=False saying why, and the host endpoint works', async (t) => {
  const runtime = new TunnelingRuntime(new RuntimeRouter([await openRuntime(t, { dataDir: tempDataDir(t) })]), { unavailableReason: 'NGROK_AUTHTOKEN is not set on agent a1' });
  t.after(() => runtime.close());
  const instance = tunnelSpec();
  await runtime.deploy(instance);
  const ready = await waitFor(() => runtime.list().find((i) => i.state === 'Running' && tunnelCondition(i)?.status === 'False'), 'Running with TunnelReady=False', 15_000);
  assert.equal(tunnelCondition(ready)?.reason, 'TunnelUnavailable');
  assert.match(tunnelCondition(ready)?.message ?? '', /NGROK_AUTHTOKEN is not set on agent a1/);
  assert.deepEqual(ready.endpoints.map((e) => e.expose), ['host']);
  const ask = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => undefined);
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
  // The endpoint as listed now, a few tries: a run restarted meanwhile (a loaded machine) has a new port.
  const reply = await waitFor(async () => {
    const endpoint = runtime.list().find((i) => i.uid === instance.uid)?.endpoints[0];
    return endpoint ? await ask(Number(endpoint.url.split(':').pop())).catch(() => undefined) : undefined;
  }, 'an answer on the host endpoint', 10_000);
  assert.equal(reply, 'hi');
  await runtime.stop(instance.uid);
});


test('the real ngrok provider dials the edge NGROK_SERVER_ADDR names, and rejects with the SDK’s reason', async (t) => {
  const edge = await ngrokEdgeStandIn(t);
  const provider = new NgrokProvider({ authtoken: 'dummy-token-for-tests', serverAddr: edge.address });
  await assert.rejects(provider.open({ protocol: 'tcp', host: '127.0.0.1', port: 9, instanceUid: 'uid', portName: 'test', description: 'test' }), /failed to connect session: tls handshake error/);
  assert.ok(edge.dialled() >= 1, 'the session dialled the loopback edge');
});

test('the test harnesses refuse a lattice process whose ngrok session would leave the machine', () => {
  const token = { NGROK_AUTHTOKEN: 'dummy' };
  assert.throws(() => assertStaysOnLoopback(['agent'], token), /refusing to start `lattice agent` with NGROK_AUTHTOKEN set and the ngrok edge at ngrok's public address/);
  for (const edge of ['connect.ngrok-agent.com:443', '10.0.0.1:443', '[fe80::1]:443', 'localhost:443', '127.0.0.1']) {
    assert.throws(() => assertStaysOnLoopback(['up'], { ...token, NGROK_SERVER_ADDR: edge }), /refusing/, edge);
  }
  assert.throws(() => assertStaysOnLoopback(['agent', '--ngrok-server-addr', '192.168.1.1:443'], { ...token, NGROK_SERVER_ADDR: '127.0.0.1:1' }), /"192\.168\.1\.1:443"/, 'the flag wins over the environment');
  for (const edge of ['127.0.0.1:4443', '127.1.2.3:1', '[::1]:4443']) assert.doesNotThrow(() => assertStaysOnLoopback(['agent'], { ...token, NGROK_SERVER_ADDR: edge }), edge);
  assert.doesNotThrow(() => assertStaysOnLoopback(['agent', '--ngrok-server-addr=127.0.0.1:9'], token));
  assert.doesNotThrow(() => assertStaysOnLoopback(['agent'], {}), 'no token: no ngrok session at all');
});
