// Convergence (DESIGN.md §5, §9): W single-replica Workloads over N simulated agents (real
// WebSockets, in-memory runtime, see sim-agent.ts) until every one is Running, and apply→Running
// for one workload at a time on a warm real agent (`lattice agent`, process runtime).
//
// The control plane runs in a process of its own (converge-server.ts), so the 1,000 agents and
// the watch cost the bench process, not the server's event loop; its RSS and CPU are read from
// /proc. Knobs: LATTICE_BENCH_AGENTS (default 1,000), LATTICE_BENCH_WORKLOADS (10,000),
// LATTICE_BENCH_CONVERGE_TIMEOUT_S (300), LATTICE_BENCH_SQLITE_SYNCHRONOUS (full|normal; the
// server's default, full, when unset), BENCH_SERVER_CPU_PROF=/dir (V8 CPU profile of the server,
// written when it exits cleanly), BENCH_SERVER_V8_PROF=/dir (V8 tick log, survives a kill),
// BENCH_SERVER_HEAP_SNAPSHOT=/dir (a heap snapshot when the server is closed),
// BENCH_SERVER_NODE_ARGS="--flag …" (extra node flags for the server, e.g. V8 heap settings).
// The server runs from the production bundle (bin/bundle.js), built first when stale.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { LatticeClient } from '../client/api-client.ts';
import { isReadyCondition } from '../schemas/conditions.ts';
import type { ServerConfig } from '../controlplane/config.ts';
import { startBenchServer, stopChild, within, type BenchServer, type ServerStats } from './converge-server.ts';
import { fmt, percentile, printTable } from './report.ts';
import { SimAgent, limited, registerAgent } from './sim-agent.ts';

const BATCH_OBJECTS = 1000;
const REGISTER_CONCURRENCY = 32;
const CONNECT_CONCURRENCY = 50;
const HEARTBEAT_MS = 5000;
const AGENT_CAPACITY = { cpu: '4000m', memory: '16Gi' };
const WORKLOAD_REQUEST = { cpu: '25m', memory: '32Mi' };
/** How many such requests fit on one agent: 4000m / 25m (memory would take 512). */
const FITS_PER_AGENT = 160;
const REQUEST_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 20_000;
const AGENTS_READY_TIMEOUT_MS = 120_000;
const READY_POLL_MS = 250;
/** With every agent connected and nothing applied: what heartbeats alone cost the server. */
const IDLE_SAMPLE_MS = 10_000;
/** After convergence: how long the server holds everything, agents heartbeating, before "holding" memory is read. */
const SETTLE_MS = 15_000;
const PROGRESS_EVERY_MS = 5000;
const PROGRESS_PRINT_EVERY = 2;
const SOCKET_CLOSE_TIMEOUT_MS = 5000;
const WATCH_OPEN_TIMEOUT_MS = 10_000;
const WATCH_MAX_RECONNECTS = 20;
const WARM_WARMUPS = 3;
const WARM_RUNS = 20;
const WARM_STEP_TIMEOUT_MS = 30_000;
const WARM_TIMEOUT_MS = 120_000;
const WARM_AGENT_NAME = 'warm-agent';
const AGENT_STOP_TIMEOUT_MS = 15_000;
const ADMIN = { username: 'bench-admin', password: 'bench-admin-password-1' };

const nowMs = () => performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

function envInt(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function sqliteSynchronous(): ServerConfig['sqliteSynchronous'] | undefined {
  const value = process.env.LATTICE_BENCH_SQLITE_SYNCHRONOUS;
  if (value === undefined || value === '') return undefined;
  if (value !== 'full' && value !== 'normal') throw new Error(`LATTICE_BENCH_SQLITE_SYNCHRONOUS must be full or normal, got ${JSON.stringify(value)}`);
  return value;
}

// ---- HTTP helpers (every request bounded).

async function call<T>(server: BenchServer, token: string | undefined, method: string, path: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(Math.ceil(timeoutMs)),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

async function adminSession(server: BenchServer): Promise<{ token: string; namespace: string; joinToken: string }> {
  const client = new LatticeClient({ server: server.url, fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) });
  const { accessToken } = await client.login(ADMIN.username, ADMIN.password);
  const { token: joinToken } = await call<{ token: string }>(server, accessToken, 'POST', '/auth/join-tokens', {});
  return { token: accessToken, namespace: ADMIN.username, joinToken };
}

/** The store's revision, from an (empty) list. */
async function currentRevision(server: BenchServer, token: string, namespace: string): Promise<number> {
  return Number((await call<{ metadata: { resourceVersion: string } }>(server, token, 'GET', `/namespaces/${namespace}/secrets`)).metadata.resourceVersion);
}

interface AgentObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[]; allocatable?: unknown };
}

const isReady = (agent: AgentObject) => isReadyCondition(agent) && agent.status?.allocatable !== undefined;

/** Polls GET /agents until `count` agents (or the one named) are Ready with their capacity known. */
async function waitAgentsReady(server: BenchServer, token: string, count: number, timeoutMs: number, name?: string): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  let ready = 0;
  while (nowMs() < deadline) {
    if (name) {
      const agent = await call<AgentObject>(server, token, 'GET', `/agents/${name}`).catch(() => undefined);
      ready = agent && isReady(agent) ? 1 : 0;
    } else {
      ready = (await call<{ items: AgentObject[] }>(server, token, 'GET', '/agents')).items.filter(isReady).length;
    }
    if (ready >= count) return;
    await sleep(READY_POLL_MS);
  }
  throw new Error(`only ${ready}/${count} agents Ready after ${timeoutMs} ms`);
}

// ---- The Workload watch: when each Workload first reports phase Running, and when it is gone.

interface WatchedWorkload {
  metadata: { name: string; resourceVersion?: string };
  status?: { phase?: string; conditions?: { type: string; message?: string }[] };
}

class WorkloadWatch {
  /** name → when its status.phase was first seen Running (performance.now()). */
  readonly firstRunning = new Map<string, number>();
  readonly deleted = new Map<string, number>();
  /** name → the latest phase and Progressing message, for the diagnosis of stragglers. */
  readonly lastSeen = new Map<string, string>();
  events = 0;
  reconnects = 0;
  closedBy: string[] = [];
  private socket: WebSocket | undefined;
  private revision = 0;
  private closing = false;
  private waiters = new Set<() => void>();

  constructor(
    private readonly server: BenchServer,
    private readonly token: string,
    private readonly namespace: string,
  ) {}

  open(): Promise<void> {
    const query = new URLSearchParams({ kind: 'Workload', namespace: this.namespace, ...(this.revision > 0 ? { resourceVersion: String(this.revision) } : {}) });
    const socket = new WebSocket(`${this.server.url.replace(/^http/, 'ws')}/api/v1/watch?${query}`, {
      headers: { authorization: `Bearer ${this.token}` },
      handshakeTimeout: WATCH_OPEN_TIMEOUT_MS,
      perMessageDeflate: false,
    });
    this.socket = socket;
    socket.on('message', (raw: Buffer) => this.receive(raw));
    socket.once('close', (code, reason) => {
      if (this.closing || this.socket !== socket) return;
      this.closedBy.push(`${code} ${reason.toString()}`.trim());
      if (this.reconnects >= WATCH_MAX_RECONNECTS) return;
      this.reconnects += 1;
      // Resume where it stopped (a 410 resets the revision: list again).
      this.open().catch(() => {});
    });
    return new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.on('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`watch upgrade refused: ${response.statusCode}`)));
    });
  }

  private receive(raw: Buffer): void {
    const at = nowMs();
    const message = JSON.parse(raw.toString()) as { type: string; object: WatchedWorkload & { code?: number } };
    this.events += 1;
    if (message.type === 'ERROR') {
      if (message.object.code === 410) this.revision = 0;
      return;
    }
    const rv = Number(message.object.metadata?.resourceVersion);
    if (Number.isFinite(rv) && rv > this.revision) this.revision = rv;
    if (message.type === 'BOOKMARK') return;
    const { name } = message.object.metadata;
    if (message.type === 'DELETED') this.deleted.set(name, at);
    else {
      const phase = message.object.status?.phase;
      if (phase === 'Running' && !this.firstRunning.has(name)) this.firstRunning.set(name, at);
      const progressing = message.object.status?.conditions?.find((c) => c.type === 'Progressing')?.message;
      this.lastSeen.set(name, `${phase ?? 'no status'}${progressing ? `: ${progressing}` : ''}`);
    }
    for (const wake of this.waiters) wake();
  }

  /** Resolves once done() holds (checked after every event); rejects after timeoutMs. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return;
    let wake!: () => void;
    const reached = new Promise<void>((resolve) => {
      wake = () => done() && resolve();
    });
    this.waiters.add(wake);
    try {
      await within(reached, timeoutMs, what);
    } finally {
      this.waiters.delete(wake);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'bench done');
    await within(closed, SOCKET_CLOSE_TIMEOUT_MS, 'closing the watch').catch(() => socket.terminate());
  }
}

// ---- Part 1: W workloads over N simulated agents.

function convergeWorkload(i: number, namespace: string) {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name: `cw-${i}`, namespace, labels: { app: 'converge' } },
    spec: { command: ['sleep', '3600'], replicas: 1, resources: WORKLOAD_REQUEST, restartPolicy: 'Always' },
  };
}

interface Sample {
  atS: number;
  applied: number;
  deployed: number;
  running: number;
  serverCpuS: number;
}

interface ConvergeFigures {
  agents: number;
  workloads: number;
  sync: string;
  registerMs: number;
  connectMs: number;
  readyMs: number;
  /** Every agent connected and heartbeating, nothing applied. */
  idle: { cpuPercent: number; writesPerS: number };
  applyMs: number;
  applyBatchMs: number[];
  applyError: string | undefined;
  /** Workloads whose apply was acknowledged. */
  applied: number;
  /** From the first apply sent to the last Workload Running; undefined when it timed out. */
  convergeMs: number | undefined;
  elapsedMs: number;
  running: number;
  deployed: number;
  /** Sorted, ms: apply sent → Running seen on the watch; apply sent → deploy at the agent; deploy → Running. */
  applyToRunning: number[];
  applyToDeploy: number[];
  deployToRunning: number[];
  perAgent: { min: number; max: number; mean: number; idle: number; busiest: string; overCapacity: number };
  deploys: number;
  duplicateDeploys: number;
  stops: number;
  /** Store revisions (one per object written) from the first apply to the end. */
  writes: number;
  agentsClosedByServer: string[];
  memory: { rssBytes: number; peakRssBytes: number };
  /** Read SETTLE_MS after convergence, with everything still running. */
  holding: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number };
  /** The server's RSS once started and logged in to, before any agent. */
  baselineRssBytes: number;
  baselineHeapBytes: number;
  stats: ServerStats;
  serverCpuS: number;
  /** Of serverCpuS, the server's main thread (its event loop). */
  serverMainThreadCpuS: number;
  benchCpuS: number;
  watch: { events: number; reconnects: number; closedBy: string[] };
  samples: Sample[];
  stragglers: string[];
}

async function measureConvergence(agentCount: number, workloadCount: number, timeoutMs: number): Promise<ConvergeFigures> {
  const sync = sqliteSynchronous();
  const server = await startBenchServer({ bootstrapAdmin: ADMIN, ...(sync ? { sqliteSynchronous: sync } : {}) });
  const fleet: SimAgent[] = [];
  let watch: WorkloadWatch | undefined;
  let progress: NodeJS.Timeout | undefined;
  try {
    const session = await adminSession(server);
    const baselineRssBytes = server.memory().rssBytes;
    const baselineHeapBytes = (await server.stats()).heapUsedBytes;
    const deployedAt = new Map<string, number>();

    let t = nowMs();
    const credentials: string[] = [];
    await limited(agentCount, REGISTER_CONCURRENCY, async (i) => {
      credentials[i] = await registerAgent(server.url, session.joinToken, `sim-${i}`, { pool: 'bench' }, REQUEST_TIMEOUT_MS);
    });
    const registerMs = nowMs() - t;

    t = nowMs();
    await limited(agentCount, CONNECT_CONCURRENCY, async (i) => {
      const agent = new SimAgent({
        server: server.url,
        name: `sim-${i}`,
        credential: credentials[i]!,
        capacity: AGENT_CAPACITY,
        heartbeatMs: HEARTBEAT_MS,
        replyDelayMs: 0,
        onDeploy: (workload) => {
          if (!deployedAt.has(workload)) deployedAt.set(workload, nowMs());
        },
      });
      fleet[i] = agent;
      await agent.connect(CONNECT_TIMEOUT_MS);
    });
    const connectMs = nowMs() - t;
    t = nowMs();
    await waitAgentsReady(server, session.token, agentCount, AGENTS_READY_TIMEOUT_MS);
    const readyMs = nowMs() - t;

    const idleRevision0 = await currentRevision(server, session.token, session.namespace);
    const idleCpu0 = server.cpuSeconds();
    t = nowMs();
    await sleep(IDLE_SAMPLE_MS);
    const idleS = (nowMs() - t) / 1000;
    const idle = { cpuPercent: (100 * (server.cpuSeconds() - idleCpu0)) / idleS, writesPerS: ((await currentRevision(server, session.token, session.namespace)) - idleRevision0) / idleS };

    watch = new WorkloadWatch(server, session.token, session.namespace);
    await within(watch.open(), WATCH_OPEN_TIMEOUT_MS, 'opening the watch');
    const batches = Math.ceil(workloadCount / BATCH_OBJECTS);
    // Bodies are made before the clock starts.
    const bodies = Array.from({ length: batches }, (_, b) =>
      JSON.stringify(Array.from({ length: Math.min(BATCH_OBJECTS, workloadCount - b * BATCH_OBJECTS) }, (_, i) => convergeWorkload(b * BATCH_OBJECTS + i, session.namespace))),
    );
    const appliedAt = new Float64Array(workloadCount).fill(NaN);
    const revisionStart = await currentRevision(server, session.token, session.namespace);
    await server.stats(true); // event-loop delay from here on
    const serverCpu0 = server.cpuSeconds();
    const serverMainCpu0 = server.mainThreadCpuSeconds();
    const benchCpu0 = process.cpuUsage();
    const start = nowMs();
    let applied = 0;
    const samples: Sample[] = [];
    const w = watch;
    progress = setInterval(() => {
      const sample = { atS: (nowMs() - start) / 1000, applied, deployed: deployedAt.size, running: w.firstRunning.size, serverCpuS: server.cpuSeconds() - serverCpu0 };
      samples.push(sample);
      if (samples.length % PROGRESS_PRINT_EVERY === 0) {
        const deploys = fleet.reduce((sum, a) => sum + a.deploys, 0);
        const stops = fleet.reduce((sum, a) => sum + a.stops, 0);
        console.log(
          `# converge: ${sample.atS.toFixed(0)} s: applied ${applied}, deployed ${sample.deployed} (${deploys} deploys, ${stops} stops), Running ${sample.running} / ${workloadCount}; ` +
            `${w.events} watch events; server cpu ${sample.serverCpuS.toFixed(1)} s, RSS ${mb(server.memory().rssBytes)} MB; bench heap ${mb(process.memoryUsage().heapUsed)} MB`,
        );
      }
    }, PROGRESS_EVERY_MS);

    const applyBatchMs: number[] = [];
    const remaining = () => Math.max(0, timeoutMs - (nowMs() - start));
    let applyError: string | undefined;
    for (let b = 0; b < batches; b++) {
      const sent = nowMs();
      appliedAt.fill(sent, b * BATCH_OBJECTS, Math.min(workloadCount, (b + 1) * BATCH_OBJECTS));
      try {
        await call(server, session.token, 'POST', '/apply', bodies[b]!, Math.max(1000, remaining()));
      } catch (error) {
        // Reported with whatever converged; the figures then cover the batches applied.
        applyError = `apply of batch ${b + 1}/${batches} failed after ${((nowMs() - sent) / 1000).toFixed(1)} s: ${(error as Error).message}`;
        console.log(`# converge: ${applyError}`);
        break;
      }
      applyBatchMs.push(nowMs() - sent);
      applied = Math.min(workloadCount, (b + 1) * BATCH_OBJECTS);
    }
    const applyMs = nowMs() - start;

    let convergeMs: number | undefined;
    try {
      if (applyError) throw new Error(applyError);
      await watch.until(() => watch!.firstRunning.size >= workloadCount, remaining(), 'all Workloads Running');
      convergeMs = Math.max(...watch.firstRunning.values()) - start;
    } catch {
      if (!applyError) console.log(`# converge: timed out after ${(timeoutMs / 1000).toFixed(0)} s with ${watch.firstRunning.size}/${workloadCount} Running`);
    }
    const elapsedMs = nowMs() - start;
    clearInterval(progress);
    const serverCpuS = server.cpuSeconds() - serverCpu0;
    const serverMainThreadCpuS = server.mainThreadCpuSeconds() - serverMainCpu0;
    const benchCpu = process.cpuUsage(benchCpu0);
    const memory = server.memory();
    // A saturated server may not answer: the figures then go without its own view.
    const stats = await server.stats().catch((error: Error): ServerStats => {
      console.log(`# converge: ${error.message}`);
      return { logged: { warn: NaN, error: NaN, samples: [] }, heapUsedBytes: NaN, heapTotalBytes: NaN, externalBytes: NaN, connectedAgents: NaN, agentSendBufferedBytes: NaN, loopDelayP99Ms: NaN, loopDelayMaxMs: NaN };
    });
    const revisionEnd = await currentRevision(server, session.token, session.namespace).catch(() => NaN);
    await sleep(SETTLE_MS);
    const held = await server.stats().catch(() => undefined);
    const holding = { rssBytes: server.memory().rssBytes, heapUsedBytes: held?.heapUsedBytes ?? NaN, heapTotalBytes: held?.heapTotalBytes ?? NaN };

    const applyToRunning: number[] = [];
    const applyToDeploy: number[] = [];
    const deployToRunning: number[] = [];
    for (let i = 0; i < workloadCount; i++) {
      const name = `cw-${i}`;
      const running = watch.firstRunning.get(name);
      const deployed = deployedAt.get(name);
      if (running !== undefined) applyToRunning.push(running - appliedAt[i]!);
      if (deployed !== undefined) applyToDeploy.push(deployed - appliedAt[i]!);
      if (running !== undefined && deployed !== undefined) deployToRunning.push(running - deployed);
    }
    const counts = fleet.map((a) => a.running.size);
    const stragglers = [...Array(workloadCount).keys()]
      .map((i) => `cw-${i}`)
      .filter((name) => !watch!.firstRunning.has(name))
      .slice(0, 5)
      .map((name) => `${name}: ${watch!.lastSeen.get(name) ?? 'never seen on the watch'}${deployedAt.has(name) ? ' (deployed)' : ''}`);
    return {
      agents: agentCount,
      workloads: workloadCount,
      sync: sync ?? 'full (default)',
      registerMs,
      connectMs,
      readyMs,
      idle,
      applyMs,
      applyBatchMs,
      applyError,
      applied,
      convergeMs,
      elapsedMs,
      running: watch.firstRunning.size,
      deployed: deployedAt.size,
      applyToRunning: applyToRunning.sort((a, b) => a - b),
      applyToDeploy: applyToDeploy.sort((a, b) => a - b),
      deployToRunning: deployToRunning.sort((a, b) => a - b),
      perAgent: {
        min: Math.min(...counts),
        max: Math.max(...counts),
        mean: counts.reduce((a, b) => a + b, 0) / counts.length,
        idle: counts.filter((c) => c === 0).length,
        busiest: fleet.reduce((a, b) => (b.running.size > a.running.size ? b : a)).name,
        overCapacity: counts.filter((c) => c > FITS_PER_AGENT).length,
      },
      deploys: fleet.reduce((sum, a) => sum + a.deploys, 0),
      duplicateDeploys: fleet.reduce((sum, a) => sum + a.duplicateDeploys, 0),
      writes: revisionEnd - revisionStart,
      stops: fleet.reduce((sum, a) => sum + a.stops, 0),
      agentsClosedByServer: fleet.filter((a) => a.closedBy !== undefined).map((a) => `${a.name}: ${a.closedBy}`),
      memory,
      holding,
      baselineRssBytes,
      baselineHeapBytes,
      stats,
      serverCpuS,
      serverMainThreadCpuS,
      benchCpuS: (benchCpu.user + benchCpu.system) / 1e6,
      watch: { events: watch.events, reconnects: watch.reconnects, closedBy: watch.closedBy },
      samples,
      stragglers,
    };
  } finally {
    clearInterval(progress);
    await watch?.close();
    await Promise.all(fleet.filter(Boolean).map((a) => a.close(SOCKET_CLOSE_TIMEOUT_MS)));
    await server.close();
  }
}

// ---- Part 2: one workload at a time on a warm real agent (process runtime).

interface WarmFigures {
  runs: number;
  /** Sorted, ms. */
  applyToRunning: number[];
  applyAck: number[];
  deleteToGone: number[];
  failures: string[];
}

/** Kills what the agent's process runtime left running (it leaves instances running when it stops). */
function killLeftoverInstances(agentDataDir: string): number {
  const dir = join(agentDataDir, 'process', 'instances');
  let killed = 0;
  let uids: string[] = [];
  try {
    uids = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const uid of uids) {
    try {
      const record = JSON.parse(readFileSync(join(dir, uid, 'state.json'), 'utf8')) as { pid?: number; processStartTime?: number };
      if (!record.pid) continue;
      const stat = readFileSync(`/proc/${record.pid}/stat`, 'utf8');
      const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      if (startTime !== record.processStartTime) continue; // not ours any more
      process.kill(-record.pid, 'SIGKILL');
      killed += 1;
    } catch {
      // gone already, or no state file
    }
  }
  return killed;
}

async function measureWarmAgent(): Promise<WarmFigures> {
  const server = await startBenchServer({ bootstrapAdmin: ADMIN });
  const dir = mkdtempSync(join(tmpdir(), 'lattice-converge-agent-'));
  const agentDataDir = join(dir, 'agent');
  let agent: ChildProcess | undefined;
  let watch: WorkloadWatch | undefined;
  const output: string[] = [];
  try {
    const session = await adminSession(server);
    const cli = fileURLToPath(new URL('../bin/lattice.js', import.meta.url));
    agent = spawn(process.execPath, [cli, 'agent', '--server', server.url, '--join-token', session.joinToken, '--name', WARM_AGENT_NAME, '--data-dir', agentDataDir, '--advertise-address', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      output.push(...chunk.toString().split('\n').filter(Boolean));
      if (output.length > 40) output.splice(0, output.length - 40);
    };
    agent.stdout!.on('data', keep);
    agent.stderr!.on('data', keep);
    await waitAgentsReady(server, session.token, 1, WARM_STEP_TIMEOUT_MS, WARM_AGENT_NAME).catch((error: Error) => {
      throw new Error(`${error.message}; agent output:\n${output.join('\n')}`);
    });
    watch = new WorkloadWatch(server, session.token, session.namespace);
    await within(watch.open(), WATCH_OPEN_TIMEOUT_MS, 'opening the watch');

    const figures: WarmFigures = { runs: WARM_RUNS, applyToRunning: [], applyAck: [], deleteToGone: [], failures: [] };
    const deadline = nowMs() + WARM_TIMEOUT_MS;
    const stepTimeout = () => Math.max(1, Math.min(WARM_STEP_TIMEOUT_MS, deadline - nowMs()));
    for (let i = 0; i < WARM_WARMUPS + WARM_RUNS; i++) {
      if (nowMs() >= deadline) {
        figures.failures.push(`stopped after ${i} of ${WARM_WARMUPS + WARM_RUNS} workloads: the phase has a ${WARM_TIMEOUT_MS / 1000} s budget`);
        break;
      }
      const name = `warm-${i}`;
      // minReadySeconds 0: the figure is the way to a running process (a fork/exec and two
      // commits), not the 2 s a process without a health check must stay up by default.
      const manifest = {
        apiVersion: 'lattice/v1',
        kind: 'Workload',
        metadata: { name, namespace: session.namespace },
        spec: { command: [process.execPath, '-e', 'setInterval(()=>{},1000)'], replicas: 1, minReadySeconds: 0, resources: { cpu: '10m', memory: '32Mi' }, restartPolicy: 'Always' },
      };
      const sent = nowMs();
      await call(server, session.token, 'POST', '/apply', manifest, stepTimeout());
      const ack = nowMs() - sent;
      try {
        await watch.until(() => watch!.firstRunning.has(name), stepTimeout(), `${name} Running`);
      } catch (error) {
        figures.failures.push(`${name}: ${(error as Error).message} (last seen: ${watch.lastSeen.get(name) ?? 'nothing'})`);
      }
      const deleting = nowMs();
      await call(server, session.token, 'DELETE', `/namespaces/${session.namespace}/workloads/${name}`, undefined, stepTimeout());
      try {
        await watch.until(() => watch!.deleted.has(name), stepTimeout(), `${name} deleted`);
      } catch (error) {
        figures.failures.push(`${name}: ${(error as Error).message}`);
      }
      if (i < WARM_WARMUPS) continue;
      const running = watch.firstRunning.get(name);
      if (running !== undefined) figures.applyToRunning.push(running - sent);
      figures.applyAck.push(ack);
      const gone = watch.deleted.get(name);
      if (gone !== undefined) figures.deleteToGone.push(gone - deleting);
    }
    for (const list of [figures.applyToRunning, figures.applyAck, figures.deleteToGone]) list.sort((a, b) => a - b);
    if (figures.failures.length > 0) figures.failures.push(`agent output (last lines):\n${output.slice(-10).join('\n')}`);
    return figures;
  } finally {
    await watch?.close();
    if (agent) await stopChild(agent, () => agent!.kill('SIGTERM'), AGENT_STOP_TIMEOUT_MS);
    const killed = killLeftoverInstances(agentDataDir);
    if (killed > 0) console.log(`# converge: killed ${killed} instance process(es) the real agent left running`);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- Report.

/** Every workload once all converged; those Running when it timed out otherwise. */
const placedCount = (c: ConvergeFigures) => (c.convergeMs !== undefined ? c.workloads : c.running);

/**
 * Where the run's CPU went per placement, and the rates that CPU allows on this machine: the
 * main thread's own ceiling (one event loop, one core), and the ceiling of both processes on
 * every core with perfect parallelism. A target above the second cannot be reached by moving
 * work between threads, only by doing less of it.
 */
function printCpuBudget(c: ConvergeFigures): void {
  const placed = placedCount(c);
  if (placed === 0) return;
  const us = (seconds: number) => (seconds * 1e6) / placed;
  const server = us(c.serverCpuS);
  const main = us(c.serverMainThreadCpuS);
  const bench = us(c.benchCpuS);
  const cores = availableParallelism();
  printTable(
    `converge: CPU per placement, from the first apply to the last Running (${cores} cores here)`,
    ['server us', 'main thread us', 'other server threads us', 'bench us (agents, watch, client)', 'main thread ceiling placements/s', `${cores}-core ceiling placements/s`],
    [[server.toFixed(0), main.toFixed(0), (server - main).toFixed(0), bench.toFixed(0), fmt.rate(1e6 / main), fmt.rate((cores * 1e6) / (server + bench))]],
  );
}

const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : fmt.ms(n));
const s = (n: number | undefined) => (n === undefined ? '-' : (n / 1000).toFixed(2));

export async function convergeBench(): Promise<void> {
  const agents = envInt('LATTICE_BENCH_AGENTS', 1000);
  const workloads = envInt('LATTICE_BENCH_WORKLOADS', 10_000);
  const timeoutMs = envInt('LATTICE_BENCH_CONVERGE_TIMEOUT_S', 300) * 1000;

  const c = await measureConvergence(agents, workloads, timeoutMs);
  printTable(
    `converge: setup, ${agents} simulated agents (real WebSockets, in-memory runtime, heartbeat every ${HEARTBEAT_MS / 1000} s, capacity ${AGENT_CAPACITY.cpu} / ${AGENT_CAPACITY.memory})`,
    ['agents', 'register all s', 'connect all s', 'all Ready s', 'idle server cpu %', 'idle store writes/s', 'sqlite synchronous'],
    [[String(agents), s(c.registerMs), s(c.connectMs), s(c.readyMs), c.idle.cpuPercent.toFixed(1), c.idle.writesPerS.toFixed(1), c.sync]],
  );
  const placementsPerS = placedCount(c) / ((c.convergeMs ?? c.elapsedMs) / 1000);
  printTable(
    `converge: ${workloads} single-replica Workloads (${WORKLOAD_REQUEST.cpu} / ${WORKLOAD_REQUEST.memory}) applied as JSON arrays of ${BATCH_OBJECTS}, first apply sent -> every Workload status.phase Running (watch)`,
    ['workloads', 'applied', 'Running', 'apply all s', 'all Running s', 'placements/s', 'apply->Running p50 ms', 'p99 ms', 'max ms', 'apply->deploy p50 ms', 'p99 ms', 'deploy->Running p50 ms', 'p99 ms'],
    [
      [
        String(workloads),
        String(c.applied),
        String(c.running),
        c.applyError ? `> ${s(c.applyMs)} (failed)` : s(c.applyMs),
        c.convergeMs !== undefined ? s(c.convergeMs) : `> ${s(c.elapsedMs)} (timed out)`,
        `${fmt.rate(placementsPerS)}${c.convergeMs === undefined ? ' (partial)' : ''}`,
        ms(percentile(c.applyToRunning, 50)),
        ms(percentile(c.applyToRunning, 99)),
        ms(percentile(c.applyToRunning, 100)),
        ms(percentile(c.applyToDeploy, 50)),
        ms(percentile(c.applyToDeploy, 99)),
        ms(percentile(c.deployToRunning, 50)),
        ms(percentile(c.deployToRunning, 99)),
      ],
    ],
  );
  printTable(
    `converge: control plane process and spread, read at the end of the run (holding: ${SETTLE_MS / 1000} s later, everything still running)`,
    ['RSS holding MB', 'heap holding used / total MB', 'server RSS at end MB', 'peak RSS MB', 'RSS before agents MB', 'heap used at end MB', 'heap before agents MB', 'server cpu s', 'bench cpu s', 'loop delay p99 ms', 'max ms', 'instances/agent min', 'mean', 'max', 'idle agents', `agents over capacity (> ${FITS_PER_AGENT})`, 'deploys', 'duplicate deploys', 'stops', 'store writes'],
    [
      [
        mb(c.holding.rssBytes),
        `${mb(c.holding.heapUsedBytes)} / ${mb(c.holding.heapTotalBytes)}`,
        mb(c.memory.rssBytes),
        mb(c.memory.peakRssBytes),
        mb(c.baselineRssBytes),
        mb(c.stats.heapUsedBytes),
        mb(c.baselineHeapBytes),
        c.serverCpuS.toFixed(1),
        c.benchCpuS.toFixed(1),
        fmt.ms(c.stats.loopDelayP99Ms),
        fmt.ms(c.stats.loopDelayMaxMs),
        String(c.perAgent.min),
        c.perAgent.mean.toFixed(1),
        `${c.perAgent.max} (${c.perAgent.busiest})`,
        String(c.perAgent.idle),
        String(c.perAgent.overCapacity),
        String(c.deploys),
        String(c.duplicateDeploys),
        String(c.stops),
        fmt.rate(c.writes),
      ],
    ],
  );
  printCpuBudget(c);
  if (c.samples.length > 1) {
    let previous: Sample = { atS: 0, applied: 0, deployed: 0, running: 0, serverCpuS: 0 };
    printTable(
      `converge: progress every ${PROGRESS_EVERY_MS / 1000} s (apply batches took ${c.applyBatchMs.map((b) => (b / 1000).toFixed(2)).join(', ')} s)`,
      ['t s', 'applied', 'deployed', 'Running', 'Running/s in interval', 'server cpu s'],
      c.samples.map((sample) => {
        const rate = (sample.running - previous.running) / (sample.atS - previous.atS);
        previous = sample;
        return [sample.atS.toFixed(0), String(sample.applied), String(sample.deployed), String(sample.running), fmt.rate(rate), sample.serverCpuS.toFixed(1)];
      }),
    );
  }
  const notes = [
    `server at the end: ${c.stats.connectedAgents} agents connected, ${mb(c.stats.agentSendBufferedBytes)} MB queued to agents unsent; store writes per Workload ${(c.writes / Math.max(1, c.applied)).toFixed(1)}; watch events ${fmt.rate(c.watch.events)}`,
    c.applyError ?? '',
    c.stats.logged.warn + c.stats.logged.error > 0 ? `server logged ${c.stats.logged.warn} warning(s) and ${c.stats.logged.error} error(s), e.g.:\n#   ${c.stats.logged.samples.join('\n#   ')}` : '',
    c.agentsClosedByServer.length > 0 ? `${c.agentsClosedByServer.length} agent connection(s) closed by the server, e.g. ${c.agentsClosedByServer.slice(0, 3).join('; ')}` : '',
    c.watch.reconnects > 0 ? `the watch was closed ${c.watch.reconnects} time(s) and resumed (${c.watch.closedBy.slice(0, 3).join('; ')})` : '',
    c.stragglers.length > 0 ? `not Running: ${c.stragglers.join('; ')}` : '',
  ].filter(Boolean);
  for (const note of notes) console.log(`# converge: ${note}`);

  const warm = await measureWarmAgent().catch(
    (error: Error): WarmFigures => ({ runs: WARM_RUNS, applyToRunning: [], applyAck: [], deleteToGone: [], failures: [`the warm-agent phase failed: ${error.message}`] }),
  );
  printTable(
    `converge: one Workload at a time on a warm real agent (\`lattice agent\`, process runtime, node -e setInterval), ${warm.runs} runs after ${WARM_WARMUPS} warm-ups, each deleted before the next`,
    ['runs', 'Running', 'apply->Running p50 ms', 'p99 ms', 'max ms', 'apply ack p50 ms', 'delete->gone p50 ms', 'p99 ms'],
    [
      [
        String(warm.runs),
        String(warm.applyToRunning.length),
        ms(percentile(warm.applyToRunning, 50)),
        ms(percentile(warm.applyToRunning, 99)),
        ms(percentile(warm.applyToRunning, 100)),
        ms(percentile(warm.applyAck, 50)),
        ms(percentile(warm.deleteToGone, 50)),
        ms(percentile(warm.deleteToGone, 99)),
      ],
    ],
  );
  for (const failure of warm.failures) console.log(`# converge (warm agent): ${failure}`);
  console.log(
    'targets (DESIGN.md §9): 10,000 workloads over 1,000 agents all Running at >= 3,333 placements/s; apply->Running p99 <= 100 ms on a warm agent; control plane RSS <= 200 MB holding 10,000 workloads',
  );
}
