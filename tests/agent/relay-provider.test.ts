// The agent's side of the tunnel relay against a stand-in control plane (real HTTP, WebSocket and
// TCP on loopback): it asks for the URL, then accepts streams only for the instance ports it has
// a tunnel open for. Another instance, an undeclared port or a closed tunnel is refused, whatever
// the control plane asks. A control plane without a relay makes the tunnel unavailable.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { RelayProvider } from '../../agent/tunnels/relay-provider.ts';
import { TunnelUnavailableError } from '../../agent/tunnels/tunnel-provider.ts';
import { decodeRelayFrame, encodeRelayFrame, type RelayFrame } from '../../schemas/relay-frames.ts';

const CREDENTIAL = 'agent-credential';

test('relay provider: the URL comes from the control plane; streams are accepted only for open tunnels', async (t) => {
  const echo = createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const echoPort = (echo.address() as AddressInfo).port;

  const asked: unknown[] = [];
  const http = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      assert.equal(request.headers.authorization, `Bearer ${CREDENTIAL}`);
      asked.push({ path: request.url, body: JSON.parse(body) });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: 'tcp://127.0.0.1:20001' }));
    });
  });
  const wss = new WebSocketServer({ server: http, path: '/api/v1/agents/relay' });
  const relayed = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const server = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const provider = new RelayProvider({ servers: [server], credential: () => CREDENTIAL });
  t.after(() => {
    provider.close();
    wss.close();
    http.close();
    echo.close();
  });

  const tunnel = await provider.open({ protocol: 'tcp', host: '127.0.0.1', port: echoPort, instanceUid: 'uid-a', portName: 'echo', description: 'test' });
  assert.equal(tunnel.url, 'tcp://127.0.0.1:20001');
  assert.deepEqual(asked, [{ path: '/api/v1/agents/tunnels', body: { instanceUid: 'uid-a', portName: 'echo' } }]);

  const socket = await relayed;
  const frames: RelayFrame[] = [];
  let arrived: (() => void) | undefined;
  socket.on('message', (data) => {
    frames.push(decodeRelayFrame(data as Buffer));
    arrived?.();
  });
  const send = (frame: RelayFrame) => socket.send(encodeRelayFrame(frame));
  const answerTo = async (streamId: number): Promise<RelayFrame> => {
    for (;;) {
      const found = frames.find((f) => f.streamId === streamId && f.type !== 'credit');
      if (found) return found;
      await new Promise<void>((resolve) => (arrived = resolve));
    }
  };

  send({ type: 'open', streamId: 1, instanceUid: 'uid-a', portName: 'postgres' });
  const undeclared = await answerTo(1);
  assert.equal(undeclared.type, 'refused', 'a port with no tunnel');
  assert.match((undeclared as { reason: string }).reason, /no tunnel for instance uid-a port "postgres"/);
  send({ type: 'open', streamId: 2, instanceUid: 'uid-b', portName: 'echo' });
  assert.equal((await answerTo(2)).type, 'refused', 'another instance');

  send({ type: 'open', streamId: 3, instanceUid: 'uid-a', portName: 'echo' });
  assert.equal((await answerTo(3)).type, 'accepted');
  send({ type: 'data', streamId: 3, payload: Buffer.from('ping') });
  for (;;) {
    const data = frames.find((f): f is Extract<RelayFrame, { type: 'data' }> => f.streamId === 3 && f.type === 'data');
    if (data) {
      assert.equal(Buffer.from(data.payload).toString(), 'ping');
      break;
    }
    await new Promise<void>((resolve) => (arrived = resolve));
  }
  send({ type: 'close', streamId: 3 });

  await tunnel.close();
  send({ type: 'open', streamId: 4, instanceUid: 'uid-a', portName: 'echo' });
  assert.equal((await answerTo(4)).type, 'refused', 'a closed tunnel takes no more streams');
});

test('relay provider: a control plane without a relay makes the tunnel unavailable (not failed), with its reason', async (t) => {
  const http = createHttpServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'this control plane runs no tunnel relay' }));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => http.close());
  const provider = new RelayProvider({ servers: [`http://127.0.0.1:${(http.address() as AddressInfo).port}`], credential: () => CREDENTIAL });
  t.after(() => provider.close());
  await assert.rejects(
    provider.open({ protocol: 'tcp', host: '127.0.0.1', port: 1, instanceUid: 'uid-a', portName: 'echo', description: 'test' }),
    (error: Error) => error instanceof TunnelUnavailableError && /no tunnel relay/.test(error.message),
  );
});
