// The API over real HTTP and WebSockets on loopback (DESIGN.md §9): single and batched applies on
// SQLite, watch delivery to 1,000 watchers, and etcd's single-client puts as the peer.
//
// The control plane runs in a process of its own (build() + listen, as `lattice server` does),
// like etcd: the clients here (fetch, 1,000 `ws` sockets) then cost the bench process, not the
// server's event loop. To profile the server: BENCH_SERVER_CPU_PROF=/some/dir npm run bench -- api
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { LatticeClient } from '../client/api-client.ts';
import type { ConfigOverrides, ServerConfig } from '../controlplane/config.ts';
import { etcdPut, findEtcd, startEtcd } from './etcd-peer.ts';
import { fmt, percentile, printTable } from './report.ts';
import { limited } from './sim-agent.ts';

const WARMUP_APPLIES = 200;
const SINGLE_APPLIES = 2000;
const CONCURRENT_CLIENTS = 16;
const BATCH_OBJECTS = 1000;
const BATCH_REPEATS = 5;
const WATCHERS = 1000;
const WATCHED_APPLIES = 200;
const WATCH_GAP_MS = 5;
const WATCH_OPEN_CONCURRENCY = 50;
const ETCD_PUTS = 2000;
const ETCD_VALUE_BYTES = 250;
const SERVER_START_TIMEOUT_MS = 30_000;
const SERVER_STOP_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const WATCH_OPEN_TIMEOUT_MS = 10_000;
const WATCH_DELIVERY_TIMEOUT_MS = 30_000;
const WATCH_CLOSE_TIMEOUT_MS = 5_000;
const SYNC_MODES: readonly ServerConfig['sqliteSynchronous'][] = ['full', 'normal'];
const USER = { username: 'bench', password: 'bench-password-1' };

const nowMs = () => performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with `promise`, or rejects after ms; the timer never outlives it. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// About the size of a small Workload manifest (~250 bytes of spec), as in store.bench.ts.
function benchWorkload(name: string, namespace: string) {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name, namespace, labels: { app: name.slice(0, 20), tier: 'web' } },
    spec: {
      image: 'nginx:1.27',
      replicas: 2,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'http', expose: 'host' }],
      resources: { cpu: '250m', memory: '128Mi' },
      env: [{ name: 'MODE', value: 'production' }],
      restartPolicy: 'Always',
    },
  };
}

// ---- The server process: tsx's loader, then build({config}) and listen on a loopback port. It
// closes the app and exits when told, or when the bench process goes away (IPC disconnect).

const SERVER_PROCESS = `
const { appModule, config } = JSON.parse(process.env.LATTICE_BENCH_SERVER);
const { build } = await import(appModule);
const app = await build({ config });
let closing;
const close = () => (closing ??= app.close().finally(() => process.exit(0)));
process.on('message', (message) => { if (message?.type === 'close') close(); });
process.on('disconnect', close);
await app.listen({ host: '127.0.0.1', port: 0 });
process.send({ type: 'listening', port: app.server.address().port });
`;

interface BenchServer {
  url: string;
  token: string;
  namespace: string;
  close(): Promise<void>;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return within(new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))), timeoutMs, 'server exit').catch(() => false);
}

/** The real control plane over a fresh SQLite file, in its own process, with one user logged in. */
async function startServer(sqliteSynchronous: ServerConfig['sqliteSynchronous']): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-api-bench-'));
  const require = createRequire(import.meta.url);
  // bcrypt at its lowest cost: the bench logs in once, and hashing is not what it measures.
  // The tenant's path, limits checked, with room for every object the bench writes.
  const limits = { objectsPerNamespace: 1_000_000, replicasPerUser: 1_000_000, watchesPerUser: 10_000 };
  const config: ConfigOverrides = { db: `sqlite:${join(dir, 'lattice.db')}`, logger: false, bcryptCost: 4, registration: 'open', sqliteSynchronous, limits };
  const profile = process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_SERVER_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, '--import', pathToFileURL(require.resolve('tsx')).href, '--input-type=module', '--eval', SERVER_PROCESS], {
    env: { ...process.env, LATTICE_BENCH_SERVER: JSON.stringify({ appModule: new URL('../controlplane/app.ts', import.meta.url).href, config }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const close = async () => {
    if (child.connected) child.send({ type: 'close' });
    if (!(await exited(child, SERVER_STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await exited(child, SERVER_STOP_TIMEOUT_MS);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await within(
      new Promise<number>((resolve, reject) => {
        child.on('message', (message: { type?: string; port?: number } | null) => message?.type === 'listening' && resolve(message!.port!));
        child.once('error', reject);
        child.once('exit', (code, signal) => reject(new Error(`the server process exited during startup (${code ?? signal})`)));
      }),
      SERVER_START_TIMEOUT_MS,
      'server start',
    );
    const url = `http://127.0.0.1:${port}`;
    const client = new LatticeClient({ server: url });
    const { namespace } = await within(client.register(USER.username, USER.password), REQUEST_TIMEOUT_MS, 'register');
    const { accessToken } = await within(client.login(USER.username, USER.password), REQUEST_TIMEOUT_MS, 'login');
    return { url, token: accessToken, namespace, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One POST /api/v1/apply; resolves with the store revision it reached. */
async function apply(server: BenchServer, body: string, contentType: 'application/json' | 'application/yaml'): Promise<number> {
  const response = await fetch(`${server.url}/api/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': contentType },
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`apply: ${response.status} ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { revision: number }).revision;
}

interface Throughput {
  rate: number;
  /** Milliseconds per operation, sorted. */
  latencies: number[];
}

/** `total` operations from `clients` sequential loops. */
async function closedLoop(total: number, clients: number, op: (i: number) => Promise<unknown>): Promise<Throughput> {
  let next = 0;
  const latencies: number[] = [];
  const start = nowMs();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const issued = nowMs();
        await op(i);
        latencies.push(nowMs() - issued);
      }
    }),
  );
  const rate = total / ((nowMs() - start) / 1000);
  return { rate, latencies: latencies.sort((a, b) => a - b) };
}

function singleApplies(server: BenchServer, clients: number, prefix: string, total = SINGLE_APPLIES): Promise<Throughput> {
  // Bodies are made before the clock starts.
  const bodies = Array.from({ length: total }, (_, i) => JSON.stringify(benchWorkload(`${prefix}-${i}`, server.namespace)));
  return closedLoop(total, clients, (i) => apply(server, bodies[i]!, 'application/json'));
}

interface Batched {
  objectsPerSecond: number;
  /** Milliseconds per multi-document apply, sorted. */
  latencies: number[];
}

type BatchFormat = 'yaml' | 'json';

/** BATCH_REPEATS applies of BATCH_OBJECTS distinct Workloads each, as one YAML stream or one JSON array. */
async function batchedApplies(server: BenchServer, format: BatchFormat): Promise<Batched> {
  const bodies = Array.from({ length: BATCH_REPEATS }, (_, b) => {
    const objects = Array.from({ length: BATCH_OBJECTS }, (_, i) => benchWorkload(`batch-${format}-${b}-${i}`, server.namespace));
    return format === 'yaml' ? objects.map((o) => stringify(o)).join('---\n') : JSON.stringify(objects);
  });
  const { latencies } = await closedLoop(BATCH_REPEATS, 1, (b) => apply(server, bodies[b]!, format === 'yaml' ? 'application/yaml' : 'application/json'));
  const totalMs = latencies.reduce((a, b) => a + b, 0);
  return { objectsPerSecond: (BATCH_REPEATS * BATCH_OBJECTS) / (totalMs / 1000), latencies };
}

interface HttpFigures {
  sync: ServerConfig['sqliteSynchronous'];
  single: Throughput;
  concurrent: Throughput;
  /** The YAML stream the target is about; the same objects as a JSON array, to show what parsing costs. */
  batched: Record<BatchFormat, Batched>;
}

async function measureHttp(sync: ServerConfig['sqliteSynchronous']): Promise<HttpFigures> {
  const server = await startServer(sync);
  try {
    // JIT, connection pool and SQLite page cache warm before anything is timed.
    await singleApplies(server, CONCURRENT_CLIENTS, 'warmup', WARMUP_APPLIES);
    return {
      sync,
      single: await singleApplies(server, 1, 'single'),
      concurrent: await singleApplies(server, CONCURRENT_CLIENTS, 'concurrent'),
      batched: { yaml: await batchedApplies(server, 'yaml'), json: await batchedApplies(server, 'json') },
    };
  } finally {
    await server.close();
  }
}

// ---- Watch delivery.

interface WatchFigures {
  openMs: number;
  /** Apply sent → ADDED received, one per (apply, watcher), sorted. */
  latencies: number[];
  missing: number;
  closedEarly: number;
  unclosed: number;
  applyLatencies: number[];
}

async function watchDelivery(): Promise<WatchFigures> {
  const server = await startServer('full');
  const sockets: WebSocket[] = [];
  let finishing = false;
  let closedEarly = 0;
  const closeAll = async (): Promise<number> => {
    finishing = true;
    const closes = sockets.map((s) => (s.readyState === WebSocket.CLOSED ? undefined : new Promise<void>((resolve) => s.once('close', () => resolve()))));
    for (const s of sockets) if (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING) s.close(1000, 'bench done');
    await within(Promise.all(closes), WATCH_CLOSE_TIMEOUT_MS, 'closing watchers').catch(() => {});
    const unclosed = sockets.filter((s) => s.readyState !== WebSocket.CLOSED);
    for (const s of unclosed) s.terminate();
    return unclosed.length;
  };
  try {
    const prefix = 'watched-';
    const bodies = Array.from({ length: WATCHED_APPLIES }, (_, i) => JSON.stringify(benchWorkload(`${prefix}${i}`, server.namespace)));
    await singleApplies(server, 1, 'warmup', WARMUP_APPLIES);
    const resourceVersion = await apply(server, JSON.stringify(benchWorkload('watch-start', server.namespace)), 'application/json');
    const query = new URLSearchParams({ kind: 'Workload', namespace: server.namespace, resourceVersion: String(resourceVersion) });
    const url = `${server.url.replace(/^http/, 'ws')}/api/v1/watch?${query}`;

    const sentAt = new Float64Array(WATCHED_APPLIES).fill(NaN);
    const delivered = new Uint8Array(WATCHED_APPLIES * WATCHERS);
    const latencies: number[] = [];
    let allDelivered!: () => void;
    const everything = new Promise<void>((resolve) => (allDelivered = resolve));
    const open = (w: number) =>
      new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(url, { headers: { authorization: `Bearer ${server.token}` }, handshakeTimeout: WATCH_OPEN_TIMEOUT_MS, perMessageDeflate: false });
        sockets.push(socket);
        socket.on('message', (raw: Buffer) => {
          const at = nowMs();
          const message = JSON.parse(raw.toString()) as { type: string; object: { metadata?: { name?: string } } };
          const name = message.object.metadata?.name;
          if (message.type !== 'ADDED' || !name?.startsWith(prefix)) return;
          const i = Number(name.slice(prefix.length));
          const slot = i * WATCHERS + w;
          if (delivered[slot]) return;
          delivered[slot] = 1;
          latencies.push(at - sentAt[i]!);
          if (latencies.length === delivered.length) allDelivered();
        });
        socket.once('open', () => resolve());
        socket.on('error', reject);
        socket.once('unexpected-response', (_request, response) => reject(new Error(`watch upgrade refused: ${response.statusCode}`)));
        socket.once('close', (code, reason) => {
          if (!finishing) closedEarly += 1;
          reject(new Error(`watch closed before it opened: ${code} ${reason.toString()}`));
        });
      });

    // Bounded concurrency: at most WATCH_OPEN_CONCURRENCY handshakes in flight.
    const openStart = nowMs();
    await limited(WATCHERS, WATCH_OPEN_CONCURRENCY, open);
    const openMs = nowMs() - openStart;

    const applyLatencies: number[] = [];
    for (let i = 0; i < WATCHED_APPLIES; i++) {
      sentAt[i] = nowMs();
      await apply(server, bodies[i]!, 'application/json');
      applyLatencies.push(nowMs() - sentAt[i]!);
      // A steady stream of applies, not a burst: latency, not queueing, is what is measured.
      await sleep(WATCH_GAP_MS);
    }
    await within(everything, WATCH_DELIVERY_TIMEOUT_MS, 'watch delivery').catch(() => {});
    const missing = delivered.length - latencies.length;
    const unclosed = await closeAll();
    return { openMs, latencies: latencies.sort((a, b) => a - b), missing, closedEarly, unclosed, applyLatencies: applyLatencies.sort((a, b) => a - b) };
  } finally {
    await closeAll();
    await server.close();
  }
}

// ---- The etcd peer.

interface EtcdFigures {
  version: string;
  single: Throughput;
  concurrent: Throughput;
}

async function measureEtcd(binary: string): Promise<EtcdFigures> {
  const etcd = await startEtcd(binary);
  try {
    const value = JSON.stringify(benchWorkload('etcd-value', 'bench').spec).padEnd(ETCD_VALUE_BYTES, ' ').slice(0, ETCD_VALUE_BYTES);
    const put = (prefix: string) => (i: number) => etcdPut(etcd.url, `/bench/${prefix}/${i}`, value, REQUEST_TIMEOUT_MS);
    await closedLoop(WARMUP_APPLIES, CONCURRENT_CLIENTS, put('warmup'));
    return {
      version: etcd.version,
      single: await closedLoop(ETCD_PUTS, 1, put('single')),
      concurrent: await closedLoop(ETCD_PUTS, CONCURRENT_CLIENTS, put('concurrent')),
    };
  } finally {
    await etcd.stop();
  }
}

const latencyCells = (sorted: readonly number[]) => [fmt.ms(percentile(sorted, 50)), fmt.ms(percentile(sorted, 99))];

export async function apiBench(): Promise<void> {
  const http: HttpFigures[] = [];
  for (const sync of SYNC_MODES) http.push(await measureHttp(sync));
  printTable(
    `api: single applies over HTTP on SQLite, ${SINGLE_APPLIES} distinct Workloads, one per POST /api/v1/apply (JSON, keep-alive fetch)`,
    ['sqlite synchronous', 'clients', 'applies/s', 'p50 ms', 'p99 ms'],
    http.flatMap((h) => [
      [h.sync, '1', fmt.rate(h.single.rate), ...latencyCells(h.single.latencies)],
      [h.sync, String(CONCURRENT_CLIENTS), fmt.rate(h.concurrent.rate), ...latencyCells(h.concurrent.latencies)],
    ]),
  );
  printTable(
    `api: batched applies, ${BATCH_REPEATS} x one apply of ${BATCH_OBJECTS} distinct Workloads (multi-document YAML; the same as a JSON array for comparison)`,
    ['sqlite synchronous', 'body', 'objects/s', 'apply p50 ms', 'apply max ms'],
    http.flatMap((h) =>
      (['yaml', 'json'] as const).map((format) => {
        const b = h.batched[format];
        return [h.sync, format, fmt.rate(b.objectsPerSecond), fmt.ms(percentile(b.latencies, 50)), fmt.ms(percentile(b.latencies, 100))];
      }),
    ),
  );

  const watch = await watchDelivery();
  printTable(
    `api: watch delivery, ${WATCHERS} WebSocket watchers (kind=Workload, own namespace) x ${WATCHED_APPLIES} sequential applies ${WATCH_GAP_MS} ms apart; apply sent -> ADDED received`,
    ['watchers', 'deliveries', 'missing', 'open all ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'apply p50 ms', 'apply p99 ms'],
    [
      [
        String(WATCHERS),
        fmt.rate(watch.latencies.length),
        String(watch.missing),
        fmt.ms(watch.openMs),
        fmt.ms(percentile(watch.latencies, 50)),
        fmt.ms(percentile(watch.latencies, 90)),
        fmt.ms(percentile(watch.latencies, 99)),
        fmt.ms(percentile(watch.latencies, 100)),
        ...latencyCells(watch.applyLatencies),
      ],
    ],
  );
  if (watch.closedEarly > 0 || watch.unclosed > 0) console.log(`# watch: ${watch.closedEarly} socket(s) closed by the server during the run; ${watch.unclosed} did not close cleanly (terminated)`);

  const etcdBinary = findEtcd();
  if (!etcdBinary) console.log('# etcd peer skipped: no etcd on PATH (apt-get install etcd-server)');
  else {
    const etcd = await measureEtcd(etcdBinary);
    const ratio = (lattice: number, peer: number) => `${(lattice / peer).toFixed(2)}x`;
    const row = (clients: string, peer: Throughput, pick: (h: HttpFigures) => Throughput) => [
      clients,
      fmt.rate(peer.rate),
      ...latencyCells(peer.latencies),
      ...http.flatMap((h) => [fmt.rate(pick(h).rate), ratio(pick(h).rate, peer.rate)]),
    ];
    printTable(
      `api: etcd ${etcd.version} peer, ${ETCD_PUTS} puts of ${ETCD_VALUE_BYTES}-byte values via its JSON gateway (POST /v3/kv/put, same fetch client) vs Lattice single applies`,
      ['clients', 'etcd puts/s', 'etcd p50 ms', 'etcd p99 ms', ...http.flatMap((h) => [`lattice ${h.sync} applies/s`, `${h.sync}/etcd`])],
      [row('1', etcd.single, (h) => h.single), row(String(CONCURRENT_CLIENTS), etcd.concurrent, (h) => h.concurrent)],
    );
  }
  console.log('targets (DESIGN.md §9): apply >= 10,000 objects/s in batches; single applies over HTTP on SQLite >= 2x etcd single-client puts; watch delivery p99 <= 50 ms with 1,000 watchers');
}
