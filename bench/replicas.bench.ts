// Several `lattice server` replicas on one PostgreSQL database (DESIGN.md §10, issue 21): apply
// throughput and watch delivery with 1 and 3 replicas, watch delivery across replicas, and the
// time from kill -9 of the leader to the new leader's first controller write.
//
// Each scenario gets a fresh database and fresh replicas (real `lattice server` processes, as an
// operator runs them, request logging on); PostgreSQL is the throwaway loopback cluster of
// tests/support/postgres.ts (fsync=off there, so commits cost no disk flush). All clients and
// watchers live in this one process, so send and receive times share a clock. On this 2-core
// machine the replicas, PostgreSQL and this process share the cores: 3 replicas cannot add
// CPU, only spread the API work.
import WebSocket from 'ws';
import { startPostgres, type PostgresServer } from '../tests/support/postgres.ts';
import { WORKLOAD_LABEL } from '../schemas/labels-and-finalizers.ts';
import { fmt, percentile, printTable } from './report.ts';
import { killAllReplicas, killAllReplicasSync, readyz, startReplica, waitForOneLeader, type Replica } from './replica-support.ts';
import { limited } from './sim-agent.ts';

const CLIENTS = 16;
const WARMUP_APPLIES = 200;
const APPLIES = 1500;
const WATCHERS = 100;
const WATCH_WRITES = 200;
/** Writes are issued on a fixed schedule (open loop), not one after another's answer. */
const WATCH_WRITE_INTERVAL_MS = 20;
const WATCH_OPEN_CONCURRENCY = 20;
const FAILOVER_RUNS = 5;
const FAILOVER_REPLICAS = 3;
const REQUEST_TIMEOUT_MS = 30_000;
const WATCH_DELIVERY_TIMEOUT_MS = 15_000;
const FAILOVER_TIMEOUT_MS = 20_000;
const READYZ_POLL_MS = 10;
const SENT_AT = 'bench.lattice.dev/sent-at';
const TENANT = { username: 'bench', password: 'bench-password-1' };
// The tenant's path, with room for every object and watch the bench makes.
const REPLICA_ENV = { LATTICE_OBJECTS_PER_NAMESPACE: '1000000', LATTICE_WATCHES_PER_USER: '10000', LATTICE_REPLICAS_PER_USER: '100000' };

const TARGETS = {
  watchP99Ms: 50,
  crossReplicaP99Ms: 10,
  crossReplicaIssueP99Ms: 20,
  failoverMs: 5_000,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Milliseconds on one clock for the whole process (sent in annotations, compared on receipt). */
const wallMs = () => performance.timeOrigin + performance.now();

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- A cluster: one database, N replicas, a tenant logged in.

interface Cluster {
  db: string;
  replicas: Replica[];
  token: string;
  namespace: string;
}

async function postJson<T>(url: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * The first replica alone first, so it takes the lease (replica 0 leads) and creates the
 * database's schema and token key; then the others together.
 */
async function startCluster(postgres: PostgresServer, count: number, name: string): Promise<Cluster> {
  const db = await postgres.createDatabase();
  const first = await startReplica(`${name}-0`, db, REPLICA_ENV);
  const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => startReplica(`${name}-${i + 1}`, db, REPLICA_ENV)));
  const replicas = [first, ...rest];
  if ((await waitForOneLeader(replicas)) !== 0) throw new Error(`${name}: expected the first replica to lead`);
  const { namespace } = await postJson<{ namespace: string }>(`${first.url}/api/v1/auth/register`, TENANT);
  const { accessToken } = await postJson<{ accessToken: string }>(`${first.url}/api/v1/auth/login`, TENANT);
  return { db, replicas, token: accessToken, namespace };
}

async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (cluster) await Promise.all(cluster.replicas.map((r) => r.kill()));
}

// A Secret: no controller reacts to one (they read Secrets only when an Instance needs them), so
// what is timed is the API and the store. ~250 bytes, like the other benches' Workloads.
function benchSecret(name: string, namespace: string, sentAt?: number) {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { app: 'bench', tier: 'web' }, ...(sentAt !== undefined ? { annotations: { [SENT_AT]: sentAt.toFixed(3) } } : {}) },
    spec: { data: { password: 'p'.repeat(64), url: `postgres://app@db.internal:5432/${name}`.padEnd(120, 'x') } },
  };
}

async function apply(replica: Replica, token: string, body: string): Promise<number> {
  const response = await fetch(`${replica.url}/api/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`apply via ${replica.label}: ${response.status} ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { revision: number }).revision;
}

// ---- 1. Apply throughput.

interface Throughput {
  replicas: number;
  rate: number;
  latencies: number[];
}

/** `total` applies from CLIENTS closed loops; client c talks to replica c mod N. */
async function applyLoop(cluster: Cluster, prefix: string, total: number): Promise<{ rate: number; latencies: number[] }> {
  const bodies = Array.from({ length: total }, (_, i) => JSON.stringify(benchSecret(`${prefix}-${i}`, cluster.namespace)));
  let next = 0;
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const replica = cluster.replicas[c % cluster.replicas.length]!;
      while (next < total) {
        const i = next++;
        const issued = performance.now();
        await apply(replica, cluster.token, bodies[i]!);
        latencies.push(performance.now() - issued);
      }
    }),
  );
  return { rate: total / ((performance.now() - start) / 1000), latencies: latencies.sort((a, b) => a - b) };
}

async function measureThroughput(postgres: PostgresServer, count: number): Promise<Throughput> {
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster(postgres, count, `apply${count}`);
    // JIT, pools and PostgreSQL's caches warm on every replica before the clock starts.
    await applyLoop(cluster, 'warmup', WARMUP_APPLIES);
    return { replicas: count, ...(await applyLoop(cluster, 'bench', APPLIES)) };
  } finally {
    await stopCluster(cluster);
  }
}

// ---- 2 and 3. Watch delivery.

interface WatchFigures {
  label: string;
  replicas: number;
  /** Where the watchers are: indexes into the cluster's replicas. */
  watchedOn: string;
  /** Write sent -> ADDED received, per (write, watcher), sorted; keyed by "same" / "other" replica than the writes. */
  bySide: Record<'same' | 'other', number[]>;
  /**
   * Apply answered -> ADDED received, likewise: what propagation adds beyond the apply's own
   * latency (negative when the event beat the HTTP answer).
   */
  afterAnswer: Record<'same' | 'other', number[]>;
  missing: number;
  closedEarly: number;
  applyLatencies: number[];
  writeRate: number;
}

/** WATCHERS watchers spread round robin over `watchOn`; writes through replica 0 on a fixed schedule. */
async function measureWatch(postgres: PostgresServer, count: number, watchOn: readonly number[], label: string): Promise<WatchFigures> {
  let cluster: Cluster | undefined;
  const sockets: WebSocket[] = [];
  let finishing = false;
  let closedEarly = 0;
  try {
    cluster = await startCluster(postgres, count, `watch${count}-${watchOn.join('')}`);
    const c = cluster;
    const writer = c.replicas[0]!;
    await applyLoop(c, 'warmup', WARMUP_APPLIES);
    const from = await apply(writer, c.token, JSON.stringify(benchSecret('watch-start', c.namespace)));
    const query = new URLSearchParams({ kind: 'Secret', namespace: c.namespace, resourceVersion: String(from) });
    const prefix = 'watched-';
    const delivered = new Uint8Array(WATCH_WRITES * WATCHERS);
    const bySide: WatchFigures['bySide'] = { same: [], other: [] };
    const receivedAt = new Float64Array(WATCH_WRITES * WATCHERS).fill(NaN);
    const answeredAt = new Float64Array(WATCH_WRITES).fill(NaN);
    let received = 0;
    let allDelivered!: () => void;
    const everything = new Promise<void>((resolve) => (allDelivered = resolve));

    const open = (w: number) =>
      new Promise<void>((resolve, reject) => {
        const replicaIndex = watchOn[w % watchOn.length]!;
        const side = replicaIndex === 0 ? 'same' : 'other';
        const url = `${c.replicas[replicaIndex]!.url.replace(/^http/, 'ws')}/api/v1/watch?${query}`;
        const socket = new WebSocket(url, { headers: { authorization: `Bearer ${c.token}` }, handshakeTimeout: REQUEST_TIMEOUT_MS, perMessageDeflate: false });
        sockets.push(socket);
        socket.on('message', (raw: Buffer) => {
          const at = wallMs();
          const message = JSON.parse(raw.toString()) as { type: string; object: { metadata?: { name?: string; annotations?: Record<string, string> } } };
          const name = message.object.metadata?.name;
          if (message.type !== 'ADDED' || !name?.startsWith(prefix)) return;
          const slot = Number(name.slice(prefix.length)) * WATCHERS + w;
          if (delivered[slot]) return;
          delivered[slot] = 1;
          receivedAt[slot] = at;
          bySide[side].push(at - Number(message.object.metadata!.annotations![SENT_AT]));
          if (++received === delivered.length) allDelivered();
        });
        socket.once('open', () => resolve());
        socket.on('error', reject);
        socket.once('unexpected-response', (_request, response) => reject(new Error(`watch upgrade refused: ${response.statusCode}`)));
        socket.once('close', () => {
          if (!finishing) closedEarly += 1;
          reject(new Error('watch closed before it opened'));
        });
      });
    await limited(WATCHERS, WATCH_OPEN_CONCURRENCY, open);

    const bodies = (i: number) => JSON.stringify(benchSecret(`${prefix}${i}`, c.namespace, wallMs()));
    const applyLatencies: number[] = [];
    const start = performance.now();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < WATCH_WRITES; i++) {
      const due = start + i * WATCH_WRITE_INTERVAL_MS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const issued = performance.now();
      // The body (and its sent-at) is made at the moment of sending.
      writes.push(
        apply(writer, c.token, bodies(i)).then(() => {
          answeredAt[i] = wallMs();
          applyLatencies.push(performance.now() - issued);
        }),
      );
    }
    await Promise.all(writes);
    const writeRate = WATCH_WRITES / ((performance.now() - start) / 1000);
    await within(everything, WATCH_DELIVERY_TIMEOUT_MS, 'watch delivery').catch(() => {});
    const afterAnswer: WatchFigures['afterAnswer'] = { same: [], other: [] };
    for (let slot = 0; slot < receivedAt.length; slot++) {
      if (Number.isNaN(receivedAt[slot]!)) continue;
      const w = slot % WATCHERS;
      afterAnswer[watchOn[w % watchOn.length] === 0 ? 'same' : 'other'].push(receivedAt[slot]! - answeredAt[Math.floor(slot / WATCHERS)]!);
    }
    return {
      label,
      replicas: count,
      watchedOn: watchOn.map((i) => String.fromCharCode(65 + i)).join('+'),
      bySide: { same: bySide.same.sort((a, b) => a - b), other: bySide.other.sort((a, b) => a - b) },
      afterAnswer: { same: afterAnswer.same.sort((a, b) => a - b), other: afterAnswer.other.sort((a, b) => a - b) },
      missing: delivered.length - received,
      closedEarly,
      applyLatencies: applyLatencies.sort((a, b) => a - b),
      writeRate,
    };
  } finally {
    finishing = true;
    for (const s of sockets) s.terminate();
    await stopCluster(cluster);
  }
}

// ---- 4. Failover.

interface FailoverRun {
  /** Apply -> Instance ADDED with the leader alive (the same path, for comparison). */
  baselineMs: number;
  /** kill -9 of the leader -> a standby's /readyz says leader=true. */
  leaderMs: number;
  /** kill -9 of the leader -> the new leader's Instance for a Workload applied right after the kill, as a watch event. */
  firstWriteMs: number;
  oldEpoch: number;
  newEpoch: number;
  instanceState: string;
}

interface InstanceEvent {
  type: string;
  object: { metadata?: { name?: string; labels?: Record<string, string> }; status?: { state?: string; message?: string } };
}

/** A watch of the tenant's Instances on one replica; next(workload) resolves at the first ADDED Instance of that Workload. */
async function watchInstances(replica: Replica, cluster: Cluster, fromRevision: number) {
  const query = new URLSearchParams({ kind: 'Instance', namespace: cluster.namespace, resourceVersion: String(fromRevision) });
  const socket = new WebSocket(`${replica.url.replace(/^http/, 'ws')}/api/v1/watch?${query}`, { headers: { authorization: `Bearer ${cluster.token}` }, perMessageDeflate: false });
  const seen = new Map<string, { at: number; event: InstanceEvent }>();
  const waiters = new Map<string, (hit: { at: number; event: InstanceEvent }) => void>();
  socket.on('message', (raw: Buffer) => {
    const at = performance.now();
    const event = JSON.parse(raw.toString()) as InstanceEvent;
    const workload = event.object.metadata?.labels?.[WORKLOAD_LABEL];
    if (event.type !== 'ADDED' || !workload || seen.has(workload)) return;
    seen.set(workload, { at, event });
    waiters.get(workload)?.({ at, event });
  });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      // on, not once: a later error without a listener would throw in this process.
      socket.on('error', reject);
    }),
    REQUEST_TIMEOUT_MS,
    `instance watch on ${replica.label}`,
  );
  return {
    socket,
    next(workload: string): Promise<{ at: number; event: InstanceEvent }> {
      const hit = seen.get(workload);
      if (hit) return Promise.resolve(hit);
      return within(new Promise((resolve) => waiters.set(workload, resolve)), FAILOVER_TIMEOUT_MS, `an Instance of ${workload}`);
    },
  };
}

// No agents join, so the new leader's workload controller creates the Instance unscheduled
// (Pending): a write only the leader makes, and the first thing it does for a new Workload.
function benchWorkload(name: string, namespace: string) {
  return { apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name, namespace }, spec: { image: 'nginx:1.27', replicas: 1 } };
}

async function measureFailover(postgres: PostgresServer): Promise<FailoverRun[]> {
  let cluster: Cluster | undefined;
  const sockets: WebSocket[] = [];
  try {
    cluster = await startCluster(postgres, FAILOVER_REPLICAS, 'failover');
    const c = cluster;
    const runs: FailoverRun[] = [];
    for (let run = 0; run < FAILOVER_RUNS; run++) {
      const leaderIndex = await waitForOneLeader(c.replicas);
      const leader = c.replicas[leaderIndex]!;
      const standbys = c.replicas.filter((_, i) => i !== leaderIndex);
      const front = standbys[0]!;
      const oldEpoch = (await readyz(leader.url))!.epoch;
      const from = await readyz(front.url);
      if (!from) throw new Error(`failover run ${run}: ${front.label} not ready`);
      const watch = await watchInstances(front, c, from.revision);
      sockets.push(watch.socket);

      // The same apply -> Instance path with the leader alive, through the same standby.
      const baselineName = `baseline-${run}`;
      const baselineStart = performance.now();
      await apply(front, c.token, JSON.stringify(benchWorkload(baselineName, c.namespace)));
      const baselineMs = (await watch.next(baselineName)).at - baselineStart;

      // Which standby says leader=true first, polled from the kill on.
      let leaderAt: number | undefined;
      let newEpoch = 0;
      let polling = true;
      const poll = (async () => {
        while (polling && leaderAt === undefined) {
          const states = await Promise.all(standbys.map((s) => readyz(s.url, 500)));
          const now = performance.now();
          const lead = states.find((s) => s?.leader);
          if (lead) {
            leaderAt = now;
            newEpoch = lead.epoch;
          } else await sleep(READYZ_POLL_MS);
        }
      })();

      const name = `failover-${run}`;
      const killedAt = performance.now();
      leader.child.kill('SIGKILL');
      // Applied at once, through a standby: it is stored while nobody leads, and the Instance
      // can only come from whichever replica leads next.
      await apply(front, c.token, JSON.stringify(benchWorkload(name, c.namespace)));
      const hit = await watch.next(name);
      await within(poll, FAILOVER_TIMEOUT_MS, 'a standby to lead').finally(() => (polling = false));
      await leader.exited;
      watch.socket.terminate();
      if (leaderAt === undefined) throw new Error(`failover run ${run}: no standby reported leader=true`);
      runs.push({
        baselineMs,
        leaderMs: leaderAt - killedAt,
        firstWriteMs: hit.at - killedAt,
        oldEpoch,
        newEpoch,
        instanceState: `${hit.event.object.metadata?.name}: ${hit.event.object.status?.state ?? '?'} (${hit.event.object.status?.message ?? ''})`,
      });
      // The killed replica comes back as a standby, so every run has the same number of replicas.
      c.replicas[leaderIndex] = await startReplica(`${leader.label}'`, c.db, REPLICA_ENV);
    }
    return runs;
  } finally {
    for (const s of sockets) s.terminate();
    await stopCluster(cluster);
  }
}

// ---- The suite.

const cells = (sorted: readonly number[]) => [fmt.ms(percentile(sorted, 50)), fmt.ms(percentile(sorted, 99))];
const verdict = (ok: boolean) => (ok ? 'yes' : 'NO');
const median = (values: readonly number[]) => percentile([...values].sort((a, b) => a - b), 50);
const max = (values: readonly number[]) => Math.max(...values);

export async function replicasBench(): Promise<void> {
  let postgres: PostgresServer | undefined;
  // Whatever happens (an exception, Ctrl-C), no replica outlives the bench.
  const onExit = () => killAllReplicasSync();
  const onSignal = (signal: NodeJS.Signals) => {
    killAllReplicasSync();
    void (postgres?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    postgres = await startPostgres();
    const pg = postgres;

    const throughput = [await measureThroughput(pg, 1), await measureThroughput(pg, 3)];
    printTable(
      `replicas: single applies over HTTP (POST /api/v1/apply, JSON), ${APPLIES} distinct Secrets from ${CLIENTS} clients round robin over the replicas; PostgreSQL (fsync=off)`,
      ['replicas', 'clients', 'applies/s', 'vs 1 replica', 'p50 ms', 'p99 ms'],
      throughput.map((t) => [String(t.replicas), String(CLIENTS), fmt.rate(t.rate), `${(t.rate / throughput[0]!.rate).toFixed(2)}x`, ...cells(t.latencies)]),
    );
    console.log('# no §9 target for applies on PostgreSQL; for scale, etcd 3.4 here: ~2,800 puts/s with 16 clients.');
    console.log("# every write takes the one revision row's lock until it commits (store/dialects/postgres.ts), so replicas spread API work but share one write path");

    const watches = [
      await measureWatch(pg, 1, [0], 'all on A (the writer)'),
      await measureWatch(pg, 3, [0, 1, 2], 'spread over A, B, C'),
      await measureWatch(pg, 3, [1], 'cross-replica: all on B'),
    ];
    printTable(
      `replicas: watch delivery, ${WATCHERS} WebSocket watchers (kind=Secret), ${WATCH_WRITES} applies through replica A every ${WATCH_WRITE_INTERVAL_MS} ms; sent (annotation) -> ADDED received`,
      ['replicas', 'watchers', 'watcher replica', 'deliveries', 'missing', 'p50 ms', 'p99 ms', 'max ms', 'target p99', 'met', 'writes/s', 'apply p50 ms', 'apply p99 ms', 'after answer p50 ms', 'after answer p99 ms'],
      watches.flatMap((w) =>
        (['same', 'other'] as const)
          .filter((side) => w.bySide[side].length > 0)
          .map((side) => {
            const sorted = w.bySide[side];
            const target = side === 'same' ? TARGETS.watchP99Ms : TARGETS.crossReplicaP99Ms;
            return [
              String(w.replicas),
              w.label,
              side === 'same' ? 'A (writer)' : 'other than A',
              fmt.rate(sorted.length),
              String(w.missing),
              ...cells(sorted),
              fmt.ms(percentile(sorted, 100)),
              `<= ${target} ms`,
              verdict(percentile(sorted, 99) <= target && w.missing === 0),
              fmt.rate(w.writeRate),
              ...cells(w.applyLatencies),
              ...cells(w.afterAnswer[side]),
            ];
          }),
      ),
    );
    for (const w of watches) if (w.closedEarly > 0) console.log(`# watch ${w.label}: ${w.closedEarly} socket(s) closed by a replica during the run`);
    console.log('# p50/p99: apply sent -> ADDED received (the figure the targets are about); "after answer": apply answered -> ADDED received, i.e. propagation beyond the apply itself');
    console.log(`# targets: watch p99 <= ${TARGETS.watchP99Ms} ms (§9, with 1,000 watchers); across PostgreSQL replicas <= ${TARGETS.crossReplicaP99Ms} ms (§9; the issue asks <= ${TARGETS.crossReplicaIssueP99Ms} ms)`);

    const runs = await measureFailover(pg);
    printTable(
      `replicas: failover, ${FAILOVER_REPLICAS} replicas, kill -9 of the leader (then restarted as a standby), ${FAILOVER_RUNS} runs; a Workload applied through a standby right after the kill, no agents`,
      ['run', 'epoch', 'standby leader=true ms', 'first write ms', 'baseline ms', 'Instance (as ADDED)'],
      runs.map((r, i) => [String(i + 1), `${r.oldEpoch} -> ${r.newEpoch}`, fmt.ms(r.leaderMs), fmt.ms(r.firstWriteMs), fmt.ms(r.baselineMs), r.instanceState]),
    );
    const leaderMs = runs.map((r) => r.leaderMs);
    const firstWriteMs = runs.map((r) => r.firstWriteMs);
    printTable(
      'replicas: failover summary (first write: kill -> the new leader\'s Instance for a Workload applied after the kill, seen on a watch; baseline: the same with the leader alive)',
      ['measure', 'median ms', 'max ms', 'target', 'met'],
      [
        ['standby /readyz leader=true', fmt.ms(median(leaderMs)), fmt.ms(max(leaderMs)), `<= ${TARGETS.failoverMs} ms`, verdict(max(leaderMs) <= TARGETS.failoverMs)],
        ['new leader\'s first write', fmt.ms(median(firstWriteMs)), fmt.ms(max(firstWriteMs)), `<= ${TARGETS.failoverMs} ms`, verdict(max(firstWriteMs) <= TARGETS.failoverMs)],
        ['apply -> Instance, leader alive', fmt.ms(median(runs.map((r) => r.baselineMs))), fmt.ms(max(runs.map((r) => r.baselineMs))), '', ''],
      ],
    );
    if (runs.some((r) => r.newEpoch <= r.oldEpoch)) console.log('# failover: a new leader did not have a larger epoch');
    console.log(`# target: leader loss -> a new leader reconciling within <= ${TARGETS.failoverMs} ms (§9; standbys retry the lock every 0.5 s)`);
  } finally {
    await killAllReplicas();
    await postgres?.stop();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
