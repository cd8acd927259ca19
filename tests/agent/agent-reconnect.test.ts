// The agent's connection with several server URLs: it skips one that does not answer, moves on to
// the next (round robin) when its connection drops, and says hello with what it runs each time, so
// the replica it lands on can diff without restarting anything. Stand-in servers: plain WebSocket
// servers on loopback that record what the agent sends.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { AgentDaemon } from '../../agent/agent-daemon.ts';
import { parseServerUrls } from '../../agent/join.ts';
import type { AgentRuntime } from '../../agent/runtime/types.ts';
import type { ObservedInstance } from '../../schemas/types.gen.ts';
import { freePort } from './process-helpers.ts';

const RUNNING: ObservedInstance = { uid: 'uid-1', templateHash: 'h1', state: 'Running', restarts: 0, health: 'Healthy', endpoints: [] };

/** A runtime that runs one instance and is never asked for anything else here. */
const runtime: AgentRuntime = {
  runtimes: ['process'],
  deploy: async () => {},
  stop: async () => {},
  list: () => [RUNNING],
  specOf: () => undefined,
  onChange: () => () => {},
  logs: () => (async function* () {})(),
  stats: () => Promise.reject(new Error('no stats here')),
  close: async () => {},
};

interface StandIn {
  url: string;
  /** Hellos received, with the Authorization header they came with. */
  hellos: { authorization: string | undefined; instances: ObservedInstance[] }[];
  sockets: WebSocket[];
  close(): Promise<void>;
}

async function standIn(): Promise<StandIn> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/api/v1/agents/connect' });
  await once(server, 'listening');
  const hellos: StandIn['hellos'] = [];
  const sockets: WebSocket[] = [];
  server.on('connection', (socket, request) => {
    sockets.push(socket);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; instances?: ObservedInstance[] };
      if (message.type === 'hello') hellos.push({ authorization: request.headers.authorization, instances: message.instances ?? [] });
    });
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hellos,
    sockets,
    close: () => {
      for (const socket of server.clients) socket.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('parseServerUrls: one URL or several separated by commas, trailing slashes dropped, duplicates once; anything else refused', () => {
  assert.deepEqual(parseServerUrls('http://127.0.0.1:8080/'), ['http://127.0.0.1:8080']);
  assert.deepEqual(parseServerUrls(' http://a:8080 , https://b:8443/,http://a:8080,'), ['http://a:8080', 'https://b:8443']);
  assert.throws(() => parseServerUrls(''), /at least one URL/);
  assert.throws(() => parseServerUrls('http://a:8080,not a url'), /http\(s\) URLs separated by commas, got "not a url"/);
  assert.throws(() => parseServerUrls('ws://a:8080'), /http\(s\) URLs/);
});

test('the agent skips a URL that does not answer, moves to the next when its connection drops, and says hello with what it runs each time', async (t) => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const x = await standIn();
  const y = await standIn();
  t.after(() => Promise.all([x.close(), y.close()]));
  const lines: string[] = [];
  const daemon = new AgentDaemon({ servers: [closed, x.url, y.url], name: 'roamer', credential: () => 'secret-1', runtime, advertiseAddress: '127.0.0.1', version: 'test', log: (m) => lines.push(m) });
  t.after(() => daemon.stop());
  daemon.start();

  await until('a hello at x', () => x.hellos.length === 1);
  assert.ok(lines.some((l) => l === `agent roamer: connected to ${x.url}`), lines.join('\n'));
  assert.deepEqual(x.hellos[0], { authorization: 'Bearer secret-1', instances: [RUNNING] });

  // x drops it (its replica died): the next URL, y, gets the same report.
  x.sockets[0]!.terminate();
  await until('a hello at y', () => y.hellos.length === 1);
  assert.ok(lines.some((l) => l === `agent roamer: connected to ${y.url}`), lines.join('\n'));
  assert.deepEqual(y.hellos[0]!.instances, [RUNNING]);

  // y drops it too: round robin, past the closed URL again, back to x.
  y.sockets[0]!.terminate();
  await until('a second hello at x', () => x.hellos.length === 2, 15_000);
  assert.ok(lines.some((l) => l.startsWith(`agent roamer: disconnected from ${y.url}`) && l.includes(`reconnecting to ${closed}`)), lines.join('\n'));
});
