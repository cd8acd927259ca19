// The relay's frames and per-stream flow control, over real loopback TCP: bytes arrive intact, a
// closed side closes the other, and a stream whose reader stalls stops being pulled (TCP
// back-pressure behind its window) while another stream on the same channel keeps flowing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { decodeRelayFrame, encodeRelayFrame, RELAY_WINDOW, type RelayFrame } from '../../schemas/relay-frames.ts';
import { RelayStreams } from '../../schemas/relay-streams.ts';

test('relay frames: every type survives encode and decode', () => {
  const frames: RelayFrame[] = [
    { type: 'open', streamId: 1, instanceUid: '0f6c2b1e-uid', portName: 'postgres' },
    { type: 'accepted', streamId: 2 },
    { type: 'refused', streamId: 3, reason: 'port "x" is not exposed as a tunnel' },
    { type: 'data', streamId: 4, payload: Buffer.from([0, 1, 2, 255]) },
    { type: 'credit', streamId: 0xffffffff, bytes: RELAY_WINDOW },
    { type: 'end', streamId: 5 },
    { type: 'close', streamId: 6 },
  ];
  for (const frame of frames) {
    const decoded = decodeRelayFrame(encodeRelayFrame(frame));
    assert.deepEqual(decoded.type === 'data' ? { ...decoded, payload: Buffer.from(decoded.payload) } : decoded, frame);
  }
});

test('relay frames: malformed ones are rejected', () => {
  assert.throws(() => decodeRelayFrame(Buffer.from([3, 0, 0])), /shorter than its header/);
  assert.throws(() => decodeRelayFrame(Buffer.from([42, 0, 0, 0, 1])), /unknown type 42/);
  assert.throws(() => decodeRelayFrame(Buffer.from([0, 0, 0, 0, 1, 9, 65])), /truncated/);
  assert.throws(() => decodeRelayFrame(Buffer.from([4, 0, 0, 0, 1, 0])), /credit frame must carry 4 bytes/);
  assert.throws(() => decodeRelayFrame(Buffer.from([6, 0, 0, 0, 1, 0])), /close frame must be empty/);
});

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/**
 * A public listener → streams over an in-memory channel (frames encoded and decoded, as on the
 * WebSocket, each delivered a millisecond later, in order, like a network's latency: credit then
 * runs out for real) → a connection to a target server: the relay without the control plane or agent.
 */
async function relayTo(target: Server) {
  const targetPort = await listen(target);
  const bytesToTarget = new Map<number, number>();
  const publicSide: RelayStreams = new RelayStreams((frame) => setTimeout(() => toTargetSide(decodeRelayFrame(encodeRelayFrame(frame))), 1));
  const targetSide: RelayStreams = new RelayStreams((frame) => setTimeout(() => publicSide.deliver(decodeRelayFrame(encodeRelayFrame(frame))), 1));
  function toTargetSide(frame: RelayFrame): void {
    if (frame.type === 'data') bytesToTarget.set(frame.streamId, (bytesToTarget.get(frame.streamId) ?? 0) + frame.payload.length);
    if (frame.type !== 'open') {
      targetSide.deliver(frame);
      return;
    }
    const socket = connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    targetSide.attach(frame.streamId, socket);
  }
  let nextId = 1;
  const relay = createServer({ allowHalfOpen: true }, (socket) => {
    const streamId = nextId++;
    toTargetSide({ type: 'open', streamId, instanceUid: 'uid', portName: 'echo' });
    publicSide.attach(streamId, socket);
  });
  const port = await listen(relay);
  return {
    port,
    publicSide,
    targetSide,
    bytesToTarget: (streamId: number) => bytesToTarget.get(streamId) ?? 0,
    close: async () => {
      publicSide.abortAll();
      targetSide.abortAll();
      relay.close();
      target.close();
    },
  };
}

function echoServer(onSocket?: (socket: Socket) => void): Server {
  return createServer({ allowHalfOpen: true }, (socket) => {
    onSocket?.(socket);
    socket.pipe(socket);
  });
}

async function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  return Buffer.concat(chunks);
}

test('relay streams: 4 MB echo through the relay arrives intact, and the half close carries through', async () => {
  const relay = await relayTo(echoServer());
  try {
    const payload = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 1) payload[i] = (i * 7 + (i >> 11)) & 0xff;
    const client = connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true });
    const echoed = readAll(client);
    client.end(payload);
    assert.ok((await echoed).equals(payload), 'the echo differs from what was sent');
    client.destroy();
  } finally {
    await relay.close();
  }
});

test('relay streams: a socket that closes with bytes still queued behind its window sends them all, then closes', async () => {
  // The target writes 16 MB and closes; the client reads nothing for a while, so the relay's
  // credit runs out and the target's socket (both sides done) closes with bytes still queued.
  const payload = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < payload.length; i += 1) payload[i] = (i * 13 + (i >> 12)) & 0xff;
  const relay = await relayTo(createServer({ allowHalfOpen: true }, (socket) => socket.end(payload)));
  try {
    const client = connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true });
    client.pause();
    client.end();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const reading = readAll(client);
    client.resume();
    const received = await reading;
    assert.equal(received.length, payload.length, 'every byte arrives before the end');
    assert.ok(received.equals(payload));
    client.destroy();
  } finally {
    await relay.close();
  }
});

test('relay streams: closing the client closes the target side, and the stream is freed on both ends', async () => {
  let targetClosed!: () => void;
  const closed = new Promise<void>((resolve) => (targetClosed = resolve));
  const relay = await relayTo(echoServer((socket) => socket.on('close', targetClosed)));
  try {
    const client = connect({ host: '127.0.0.1', port: relay.port });
    client.write('hello');
    await once(client, 'data');
    client.destroy();
    await closed;
    for (let i = 0; i < 50 && (relay.publicSide.size > 0 || relay.targetSide.size > 0); i += 1) await new Promise((r) => setTimeout(r, 10));
    assert.equal(relay.publicSide.size, 0);
    assert.equal(relay.targetSide.size, 0);
  } finally {
    await relay.close();
  }
});

test('relay streams: a stalled stream is held back and does not delay another stream on the channel', async () => {
  // The target never reads the stalled stream: its bytes pile up in the relay's TCP buffers.
  let stalledTarget: Socket | undefined;
  const target = createServer({ allowHalfOpen: true }, (socket) => {
    if (!stalledTarget) {
      stalledTarget = socket;
      socket.pause();
      return;
    }
    socket.pipe(socket);
  });
  const relay = await relayTo(target);
  try {
    const stalled = connect({ host: '127.0.0.1', port: relay.port });
    // 32 MB, far more than the kernel's loopback buffers on either side of the relay hold.
    const written = 32 * 1024 * 1024;
    stalled.write(Buffer.alloc(written, 1));
    // Once the buffers are full, the relay stops pulling from the stalled client.
    let relayed = -1;
    for (let i = 0; i < 100 && relayed !== relay.bytesToTarget(1); i += 1) {
      relayed = relay.bytesToTarget(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(relayed > 0 && relayed < written / 2, `the stalled stream relayed ${relayed} of ${written} bytes`);

    const moving = connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true });
    const payload = Buffer.alloc(1024 * 1024, 7);
    const started = performance.now();
    const echoed = readAll(moving);
    moving.end(payload);
    assert.ok((await echoed).equals(payload));
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `the moving stream took ${elapsed} ms`);
    assert.equal(relay.bytesToTarget(1), relayed, 'the stalled stream is still held back');
    stalled.destroy();
    moving.destroy();
  } finally {
    await relay.close();
  }
});
