// The control plane for the convergence bench, in a process of its own (build() + listen, as
// `lattice server` does, reconciler on), so that the simulated agents and the watch do not share
// its event loop. Over IPC it answers `stats` (warnings the server logged, event-loop delay, heap,
// connected agents) and exits on `close` or when the bench process goes away.
//
// The server runs with the logger off, as benches do; warnings and errors it would have logged
// (failed reconciles, agent message failures) are counted here instead, so that a run that
// "converges slowly" because of retried failures says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConfigOverrides } from '../controlplane/config.ts';
import { DIST, buildBundle, bundleIsFresh } from '../bin/bundle.js';

const START_TIMEOUT_MS = 30_000;
// A saturated server reads the close message late; profiles are written only on a clean exit.
const STOP_TIMEOUT_MS = 60_000;
const STATS_TIMEOUT_MS = 10_000;

const SERVER_PROCESS = `
import { monitorEventLoopDelay } from 'node:perf_hooks';
const { appModule, heapTuningModule, config } = JSON.parse(process.env.LATTICE_BENCH_SERVER);
// As startServer does for \`lattice server\` and \`lattice up\`.
(await import(heapTuningModule)).tuneHeapForControlPlane();
const { build } = await import(appModule);
const app = await build({ config });
const logged = { warn: 0, error: 0, samples: [] };
const describe = (args) => args.map((a) => a instanceof Error ? a.message : typeof a === 'object' && a !== null ? (a.err?.message ?? a.err?.code ?? JSON.stringify(a).slice(0, 200)) : String(a)).join(' ');
for (const level of ['warn', 'error']) {
  app.log[level] = (...args) => {
    logged[level] += 1;
    if (logged.samples.length < 8) logged.samples.push(level + ': ' + describe(args).slice(0, 300));
  };
}
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let closing;
// process.exit() still writes a --cpu-prof profile; a close that hangs must not lose it.
const close = () => {
  setTimeout(() => process.exit(0), 20_000).unref();
  return (closing ??= (async () => {
    const dir = process.env.BENCH_SERVER_HEAP_SNAPSHOT;
    if (dir) (await import('node:v8')).writeHeapSnapshot(dir + '/server-' + Date.now() + '.heapsnapshot');
    await app.close();
  })().finally(() => process.exit(0)));
};
process.on('message', (message) => {
  if (message?.type === 'close') close();
  if (message?.type === 'stats') {
    const memory = process.memoryUsage();
    process.send({
      type: 'stats',
      logged,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      connectedAgents: app.agentGateway.connectedCount,
      // Bytes queued to agents and not yet taken by the kernel (the gateway's map is private: read for diagnosis only).
      agentSendBufferedBytes: [...(app.agentGateway.connections?.values() ?? [])].reduce((sum, c) => sum + c.socket.bufferedAmount, 0),
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
    });
    if (message.resetLoopDelay) delay.reset();
  }
});
process.on('disconnect', close);
await app.listen({ host: '127.0.0.1', port: 0 });
process.send({ type: 'listening', port: app.server.address().port });
`;

export interface ServerStats {
  logged: { warn: number; error: number; samples: string[] };
  heapUsedBytes: number;
  /** What V8 has reserved for the heap (RSS counts what of it was touched). */
  heapTotalBytes: number;
  externalBytes: number;
  connectedAgents: number;
  agentSendBufferedBytes: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ProcMemory {
  rssBytes: number;
  peakRssBytes: number;
}

export interface BenchServer {
  url: string;
  pid: number;
  /** VmRSS and VmHWM from /proc/<pid>/status. */
  memory(): ProcMemory;
  /** CPU seconds (user + system) the server process has used so far, all threads. */
  cpuSeconds(): number;
  /** The same, of its main thread alone (the event loop: JavaScript, SQLite, sockets). */
  mainThreadCpuSeconds(): number;
  stats(resetLoopDelay?: boolean): Promise<ServerStats>;
  close(): Promise<void>;
}

/** Resolves with `promise`, or rejects after ms; the timer never outlives it. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return within(new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))), timeoutMs, 'process exit').catch(() => false);
}

/** Stops a child process: asks (or SIGTERMs), waits, then SIGKILLs it. */
export async function stopChild(child: ChildProcess, ask: () => void, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  ask();
  if (!(await exited(child, timeoutMs))) {
    child.kill('SIGKILL');
    await exited(child, timeoutMs);
  }
}

function procStatusBytes(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** A process's CPU seconds, or one thread's (`/proc/<pid>/task/<tid>/stat`). */
function procCpuSeconds(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * The real control plane over a fresh SQLite file. BENCH_SERVER_CPU_PROF=/some/dir writes a
 * V8 CPU profile of the server process there when it exits; BENCH_SERVER_V8_PROF=/some/dir a
 * V8 tick log as it runs; BENCH_SERVER_HEAP_SNAPSHOT=/some/dir a heap snapshot when it is closed.
 */
export async function startBenchServer(config: ConfigOverrides): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-converge-bench-'));
  const full: ConfigOverrides = { db: `sqlite:${join(dir, 'lattice.db')}`, logger: false, bcryptCost: 4, reconciler: true, ...config };
  // --cpu-prof writes its profile only when the process exits by itself; a server too busy to
  // read the close message is killed and leaves none. --prof's tick log is written as it runs
  // (analyse with `node --prof-process <log>`).
  const v8Log = process.env.BENCH_SERVER_V8_PROF ? ['--prof', `--logfile=${join(process.env.BENCH_SERVER_V8_PROF, `server-${Date.now()}.log`)}`, '--no-logfile-per-isolate'] : [];
  const profile = [...(process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_SERVER_CPU_PROF] : []), ...v8Log];
  // The server runs as it does in production: the bundle (bin/bundle.js) on plain Node.
  if (!bundleIsFresh()) await buildBundle();
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...profile, ...nodeArgs, '--enable-source-maps', '--input-type=module', '--eval', SERVER_PROCESS], {
    env: { ...process.env, LATTICE_BENCH_SERVER: JSON.stringify({ appModule: pathToFileURL(join(DIST, 'app.js')).href, heapTuningModule: pathToFileURL(join(DIST, 'heap-tuning.js')).href, config: full }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pendingStats: ((stats: ServerStats) => void)[] = [];
  child.on('message', (message: ({ type?: string } & ServerStats) | null) => {
    if (message?.type !== 'stats') return;
    const waiting = pendingStats;
    pendingStats = [];
    for (const resolve of waiting) resolve(message);
  });
  const close = async () => {
    await stopChild(child, () => (child.connected ? child.send({ type: 'close' }) : child.kill('SIGTERM')), STOP_TIMEOUT_MS);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await within(
      new Promise<number>((resolve, reject) => {
        child.on('message', (message: { type?: string; port?: number } | null) => message?.type === 'listening' && resolve(message!.port!));
        child.once('error', reject);
        child.once('exit', (code, signal) => reject(new Error(`the server process exited during startup (${code ?? signal})`)));
      }),
      START_TIMEOUT_MS,
      'server start',
    );
    const pid = child.pid!;
    return {
      url: `http://127.0.0.1:${port}`,
      pid,
      memory: () => ({ rssBytes: procStatusBytes(pid, 'VmRSS'), peakRssBytes: procStatusBytes(pid, 'VmHWM') }),
      cpuSeconds: () => procCpuSeconds(`/proc/${pid}/stat`),
      // A process's main thread has the process's id as its thread id.
      mainThreadCpuSeconds: () => procCpuSeconds(`/proc/${pid}/task/${pid}/stat`),
      stats: (resetLoopDelay = false) =>
        within(
          new Promise<ServerStats>((resolve) => {
            pendingStats.push(resolve);
            child.send({ type: 'stats', resetLoopDelay });
          }),
          STATS_TIMEOUT_MS,
          'server stats',
        ),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
