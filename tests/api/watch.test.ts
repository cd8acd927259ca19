// Watch over a real WebSocket: list+watch, resume after reconnect, 410 after compaction,
// bookmarks, and cutting off a consumer that stops reading.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import WebSocket from 'ws';
import type { WatchMessage } from '../../schemas/types.gen.ts';
import type { WatchStream } from '../../client/api-client.ts';
import { rawRequest, startTestServer } from '../support/server.ts';

const workload = (name: string, annotations?: Record<string, string>) => ({
  apiVersion: 'lattice/v1',
  kind: 'Workload',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { command: ['sleep', '60'] },
});

async function take(stream: WatchStream, count: number, options: { skipBookmarks?: boolean; timeoutMs?: number } = {}): Promise<WatchMessage[]> {
  const messages: WatchMessage[] = [];
  const timer = setTimeout(() => stream.close(), options.timeoutMs ?? 10_000);
  try {
    for await (const message of stream) {
      if (options.skipBookmarks !== false && message.type === 'BOOKMARK') continue;
      messages.push(message);
      if (messages.length === count) return messages;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`stream ended after ${messages.length} of ${count} messages: ${JSON.stringify(messages)}`);
}

function meta(message: WatchMessage): { name?: string; resourceVersion?: string } {
  if (message.type === 'ERROR') throw new Error(`unexpected ERROR: ${message.object.message}`);
  return message.object.metadata;
}

const names = (messages: WatchMessage[]) => messages.map((m) => `${m.type} ${meta(m).name ?? ''}`);

test('without a resourceVersion, a watch lists current objects as ADDED, then follows changes', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  await alice.apply([workload('a'), workload('b')]);
  const stream = alice.watch({ kind: 'Workload' });
  t.after(() => stream.close());
  assert.deepEqual(names(await take(stream, 2)), ['ADDED a', 'ADDED b']);
  await alice.apply([workload('c')]);
  await alice.delete('workloads', 'alice', 'a');
  assert.deepEqual(names(await take(stream, 2)), ['ADDED c', 'DELETED a']);
});

test('resuming from the last resourceVersion after a reconnect misses nothing', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const start = await alice.list('workloads', { namespace: 'alice' });
  const first = alice.watch({ kind: 'Workload', namespace: 'alice', resourceVersion: start.metadata.resourceVersion });
  await alice.apply([workload('one')]);
  const [seen] = await take(first, 1);
  first.close();
  await first.closed;
  const lastSeen = meta(seen!).resourceVersion;
  // While disconnected: several changes, including one to another kind that must not appear.
  await alice.apply([workload('two'), workload('three'), { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 's' }, spec: { data: { a: 'b' } } }]);
  await alice.apply([{ ...workload('two'), spec: { command: ['sleep', '61'] } }]);
  const resumed = alice.watch({ kind: 'Workload', namespace: 'alice', resourceVersion: lastSeen });
  t.after(() => resumed.close());
  const missed = await take(resumed, 3);
  assert.deepEqual(names(missed), ['ADDED two', 'ADDED three', 'MODIFIED two']);
  const revisions = missed.map((m) => Number(meta(m).resourceVersion));
  assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b));
});

test('a watch from a compacted resourceVersion gets ERROR 410 and the stream ends', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  for (let i = 0; i < 5; i++) await alice.apply([workload(`w${i}`)]);
  await server.app.store.compact(4);
  const stream = alice.watch({ kind: 'Workload', resourceVersion: '2' });
  const [message] = await take(stream, 1);
  assert.equal(message!.type, 'ERROR');
  assert.deepEqual({ ...message!.object, message: undefined }, { code: 410, reason: 'Gone', message: undefined });
  assert.match((message!.object as { message: string }).message, /compacted/);
  assert.equal((await stream.closed).code, 1000);
  const relisted = await alice.list('workloads', { namespace: 'alice' });
  const recovered = alice.watch({ kind: 'Workload', resourceVersion: relisted.metadata.resourceVersion });
  t.after(() => recovered.close());
  await alice.apply([workload('after')]);
  assert.deepEqual(names(await take(recovered, 1)), ['ADDED after']);
});

test('idle watchers get BOOKMARKs with the revision to resume from', async (t) => {
  const server = await startTestServer(t, { watch: { bookmarkIntervalMs: 100, maxBufferedBytes: 8 * 1024 * 1024, stallMs: 10_000 } });
  const { client: alice } = await server.user('alice');
  const { client: bob } = await server.user('bob');
  const stream = alice.watch({ kind: 'Workload', resourceVersion: '0' });
  t.after(() => stream.close());
  await bob.apply([workload('not-for-alice')]);
  const revision = await server.app.store.currentRevision();
  const timer = setTimeout(() => stream.close(), 10_000);
  t.after(() => clearTimeout(timer));
  for await (const message of stream) {
    assert.equal(message.type, 'BOOKMARK', 'alice never sees bob objects');
    if (Number(meta(message).resourceVersion) === revision) break;
  }
});

test('a consumer that stops reading is cut off with a reason instead of buffering without bound', async (t) => {
  const server = await startTestServer(t, { watch: { bookmarkIntervalMs: 60_000, maxBufferedBytes: 64 * 1024, stallMs: 10_000 } });
  const { client: alice, accessToken } = await server.user('alice');
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/watch?kind=Workload&resourceVersion=0`, { headers: { authorization: `Bearer ${accessToken}` } });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  // Stop reading: data piles up in the kernel, then in the server's send buffer.
  (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const big = 'x'.repeat(60_000);
  for (let batch = 0; batch < 8; batch++) {
    await alice.apply(Array.from({ length: 40 }, (_, i) => workload(`w-${batch}-${i}`, { blob: big })));
  }
  (socket as unknown as { _socket: { resume(): void } })._socket.resume();
  const { code, reason } = await closed;
  assert.equal(code, 1008);
  assert.match(reason, /^slow consumer: over 65536 bytes unread; resume from \d+$/);
});

test("a watch's initial list goes out as fast as the client reads: a reader gets all of it, one that reads nothing is cut off, /healthz keeps answering", { timeout: 90_000 }, async (t) => {
  const server = await startTestServer(t, { watch: { bookmarkIntervalMs: 60_000, maxBufferedBytes: 8 * 1024 * 1024, stallMs: 500 }, limits: { objectsPerNamespace: 1_000, replicasPerUser: 1_000 } });
  const { client: alice, accessToken } = await server.user('alice');
  // 1,000 objects of 10 KB: 10 MB, more than the kernel holds for a loopback connection whose
  // client reads nothing (its receive buffer stays at 128 KB, the server's send buffer takes 4 MB).
  const blob = 'x'.repeat(10_000);
  for (let batch = 0; batch < 4; batch++) await alice.apply(Array.from({ length: 250 }, (_, i) => workload(`w-${batch}-${i}`, { blob })));
  const adminToken = (await server.admin()).options.token;
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(String((await rawRequest(server.url, { path: '/metrics', token: adminToken })).body))?.[1] ?? 0);

  // A client that sends the upgrade and then reads nothing at all (a bare TCP socket, paused).
  const { port } = new URL(server.url);
  const stalled = connect(Number(port), '127.0.0.1');
  t.after(() => stalled.destroy());
  await new Promise((resolve) => stalled.once('connect', resolve));
  stalled.pause();
  stalled.write(
    `GET /api/v1/watch?kind=Workload HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${accessToken}\r\n\r\n`,
  );
  const deadline = Date.now() + 30_000;
  while ((await metric('lattice_watch_slow_consumers_total')) < 1 && Date.now() < deadline) {
    assert.equal((await rawRequest(server.url, { path: '/healthz' })).status, 200, '/healthz answers meanwhile');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(await metric('lattice_watch_slow_consumers_total'), 1, 'the server gave up on the client that reads nothing');

  // A client that reads gets every object, far past the window.
  const reader = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/watch?kind=Workload`, { headers: { authorization: `Bearer ${accessToken}` } });
  let added = 0;
  await new Promise<void>((resolve, reject) => {
    reader.once('error', reject);
    reader.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'ADDED' && ++added === 1_000) resolve();
    });
  });
  reader.close();
  assert.equal(added, 1_000);
  assert.equal(await metric('lattice_watch_slow_consumers_total'), 1, 'the reader was never cut off');
});

test('open watches per user are limited: past the limit the upgrade gets 429 naming it; closing one makes room; other users are not counted', async (t) => {
  const server = await startTestServer(t, { limits: { watchesPerUser: 2, logStreamsPerUser: 20 } });
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const open = (token: string) =>
    new Promise<{ socket?: WebSocket; status: number; body: string }>((resolve, reject) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/watch?kind=Workload`, { headers: { authorization: `Bearer ${token}` } });
      socket.once('open', () => resolve({ socket, status: 101, body: '' }));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.once('error', reject);
    });
  const first = await open(alice.accessToken);
  const second = await open(alice.accessToken);
  assert.deepEqual([first.status, second.status], [101, 101]);
  const third = await open(alice.accessToken);
  assert.equal(third.status, 429);
  assert.match(third.body, /at most 2 open watches per user; close one first/);
  assert.equal((await open(bob.accessToken)).status, 101, "bob has his own count");
  const closed = new Promise((resolve) => first.socket!.once('close', resolve));
  first.socket!.close();
  await closed;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const again = await open(alice.accessToken);
  assert.equal(again.status, 101, 'closing one made room');
  for (const s of [second, again]) s.socket?.close();
});
