// Slow clients against the real control plane (its own process, the production bundle): how much
// memory 300 watchers of a 10,000-object list cost, whether they read or not, and 10 followed log
// streams nobody reads; and /healthz latency meanwhile. DESIGN.md §9: 300 watchers and 10 unread
// log streams add ≤ 150 MB and never stall /healthz beyond 100 ms.
//
// A client that "reads nothing" is a bare TCP socket that sends its request and is paused: the
// kernel takes what it can (about 4 MB a connection on loopback here), the rest is the server's.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { startBenchServer, type BenchServer } from './converge-server.ts';
import { fmt, percentile, printTable } from './report.ts';

const ADMIN = { username: 'bench-admin', password: 'bench-admin-password-1' };
const OBJECTS = 10_000;
const WATCHERS = 300;
const LOG_STREAMS = 10;
const PHASE_MS = 15_000;
const SAMPLE_MS = 50;
const MB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call<T>(server: BenchServer, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Watchers the server has cut off for not reading (its counter on /metrics; the admin may read it). */
async function slowConsumers(server: BenchServer, token: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^lattice_watch_slow_consumers_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** A request on a bare socket that is then never read. */
async function unreadRequest(server: BenchServer, head: string): Promise<Socket> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {}); // the server may cut it off: that is the point
  socket.pause();
  socket.write(head);
  return socket;
}

/** Deletes the chatty workload and waits (up to 15 s) until its agent has stopped it. */
async function stopChatty(server: BenchServer, token: string): Promise<void> {
  await call(server, token, 'DELETE', `/namespaces/${ADMIN.username}/workloads/chatty`);
  for (let i = 0; i < 150; i++) {
    const { items } = await call<{ items: unknown[] }>(server, token, 'GET', `/namespaces/${ADMIN.username}/instances`);
    if (items.length === 0) return;
    await sleep(100);
  }
}

interface Phase {
  name: string;
  beforeMb: number;
  peakMb: number;
  afterMb: number;
  healthz: number[];
  note: string;
}

/** Samples RSS and /healthz latency for ms while the clients are at work; then the clients go. */
async function measure(server: BenchServer, name: string, open: () => Promise<() => string>): Promise<Phase> {
  const beforeMb = server.memory().rssBytes / MB;
  const finish = await open();
  const healthz: number[] = [];
  let peakMb = beforeMb;
  const deadline = Date.now() + PHASE_MS;
  while (Date.now() < deadline) {
    const started = performance.now();
    await fetch(`${server.url}/healthz`).then((r) => r.text());
    healthz.push(performance.now() - started);
    peakMb = Math.max(peakMb, server.memory().rssBytes / MB);
    await sleep(SAMPLE_MS);
  }
  const note = finish();
  await sleep(2_000);
  return { name, beforeMb, peakMb, afterMb: server.memory().rssBytes / MB, healthz: healthz.sort((a, b) => a - b), note };
}

export async function slowClientsBench(): Promise<void> {
  const server = await startBenchServer({ bootstrapAdmin: ADMIN, registrationsPerAddressPerHour: 1_000, limits: { watchesPerUser: 1_000, logStreamsPerUser: 100 } });
  const agentDir = mkdtempSync(join(tmpdir(), 'lattice-slow-clients-agent-'));
  const agent = { kill: () => {} };
  let token = '';
  try {
    token = (await call<{ accessToken: string }>(server, '', 'POST', '/auth/login', ADMIN)).accessToken;
    const blob = 'x'.repeat(200);
    for (let i = 0; i < OBJECTS; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: `w-${i + j}`, annotations: { note: blob } }, spec: { image: 'bench/none:1', replicas: 0 } }));
      await call(server, token, 'POST', '/apply', batch);
    }
    const watchUrl = `${server.url.replace('http', 'ws')}/api/v1/watch?kind=Workload`;
    const phases: Phase[] = [];

    phases.push(
      await measure(server, `${WATCHERS} watchers that read`, async () => {
        let added = 0;
        const sockets = Array.from({ length: WATCHERS }, () => {
          const socket = new WebSocket(watchUrl, { headers: { authorization: `Bearer ${token}` } });
          socket.on('message', () => (added += 1));
          socket.on('error', () => {});
          return socket;
        });
        return () => {
          for (const socket of sockets) socket.terminate();
          return `${fmt.rate(added)} events read of ${fmt.rate(WATCHERS * OBJECTS)}`;
        };
      }),
    );

    phases.push(
      await measure(server, `${WATCHERS} watchers that read nothing`, async () => {
        const head = (key: string) =>
          `GET /api/v1/watch?kind=Workload HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`;
        const cutBefore = await slowConsumers(server, token);
        const sockets = await Promise.all(Array.from({ length: WATCHERS }, () => unreadRequest(server, head(randomBytes(16).toString('base64')))));
        const cut = async () => (await slowConsumers(server, token)) - cutBefore;
        await sleep(PHASE_MS - 1_000);
        const cutInTime = await cut();
        return () => {
          for (const socket of sockets) socket.destroy();
          return `${cutInTime} cut off by the server`;
        };
      }),
    );

    // A real agent process with a workload that logs about 4 MB a second.
    const { token: joinToken } = await call<{ token: string }>(server, token, 'POST', '/auth/join-tokens', {});
    const child = spawn(process.execPath, [new URL('../bin/lattice.js', import.meta.url).pathname, 'agent', '--server', server.url, '--join-token', joinToken, '--name', 'chatty-host', '--data-dir', agentDir, '--docker', 'off'], { stdio: 'ignore' });
    agent.kill = () => child.kill('SIGKILL');
    const line = "const line = 'x'.repeat(4000); setInterval(() => { for (let i = 0; i < 10; i++) console.log(line); }, 10)";
    await call(server, token, 'POST', '/apply', { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'chatty' }, spec: { command: [process.execPath, '-e', line] } });
    for (let i = 0; ; i++) {
      const w = await call<{ status?: { phase?: string } }>(server, token, 'GET', `/namespaces/${ADMIN.username}/workloads/chatty`);
      if (w.status?.phase === 'Running') break;
      if (i > 300) throw new Error('the chatty workload did not reach Running in 30 s');
      await sleep(100);
    }
    phases.push(
      await measure(server, `${LOG_STREAMS} followed log streams that read nothing`, async () => {
        const head = `GET /api/v1/namespaces/${ADMIN.username}/workloads/chatty/logs?follow=true&tail=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
        const sockets = await Promise.all(Array.from({ length: LOG_STREAMS }, () => unreadRequest(server, head)));
        return () => {
          for (const socket of sockets) socket.destroy();
          return 'the agent stops at each window (flow control)';
        };
      }),
    );

    printTable(
      `slow clients: ${fmt.rate(OBJECTS)} Workloads (about 0.5 KB each) listed by every watcher; RSS of the server process sampled every ${SAMPLE_MS} ms for ${PHASE_MS / 1000} s; /healthz polled meanwhile`,
      ['clients', 'RSS before MB', 'peak MB', 'growth MB', 'RSS 2 s after they go MB', '/healthz p50 ms', 'p99 ms', 'max ms', 'what happened'],
      phases.map((p) => [
        p.name,
        p.beforeMb.toFixed(0),
        p.peakMb.toFixed(0),
        (p.peakMb - p.beforeMb).toFixed(0),
        p.afterMb.toFixed(0),
        fmt.ms(percentile(p.healthz, 50)),
        fmt.ms(percentile(p.healthz, 99)),
        fmt.ms(p.healthz[p.healthz.length - 1] ?? NaN),
        p.note,
      ]),
    );
  } finally {
    // Its agent stops the chatty process (killed first, the agent would leave it running: workloads outlive agents).
    await stopChatty(server, token).catch(() => undefined);
    agent.kill();
    await server.close();
    rmSync(agentDir, { recursive: true, force: true });
  }
}
