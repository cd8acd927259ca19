// End-to-end harness: the real control plane in-process (reconciler on), agents as real
// `lattice agent` processes, workloads as real detached processes found by a marker in their
// command line. Everything stays on 127.0.0.1.
//
// Every test goes through e2eTest(): it owns the cleanup (agents SIGKILLed, leftover workload
// process groups killed, data removed) and, when the test fails, prints what the agents said and
// what the API holds, so a red run explains itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { LatticeApiError, LatticeClient } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import { build } from '../../controlplane/app.ts';
import type { ConfigOverrides } from '../../controlplane/config.ts';
import type { Agent, Instance, Workload } from '../../schemas/types.gen.ts';
import { WORKLOAD_LABEL } from '../../schemas/labels-and-finalizers.ts';
import { assertStaysOnLoopback } from '../support/loopback-only.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import { freePort, isAlive } from '../agent/process-helpers.ts';

export { freePort, isAlive };

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const LATTICE_BIN = join(REPO, 'bin', 'lattice.js');
export const NODE = process.execPath;
export const HELLO_YAML = readFileSync(join(REPO, 'examples', 'hello.yaml'), 'utf8');

/**
 * Agent timings: NotReady 2 s after the last heartbeat, instances Lost 2 s later. Agents are
 * started with --heartbeat-seconds 0.5: the default 5 s heartbeat is longer than this grace, and a
 * connected, healthy agent would go NotReady between two heartbeats (its instances Lost and
 * replaced every ~5 s).
 */
export const E2E_TIMINGS = { graceMs: 2_000, evictionMs: 2_000 };
export const AGENT_HEARTBEAT_MS = 500;

/** Every file's temp data lives under here (removed on exit). */
const ROOT = mkdtempSync(join(tmpdir(), 'lattice-e2e-'));

// ---------------------------------------------------------------------------------------------
// Last-resort cleanup: whatever a crashed test left running dies with the test process.

const liveChildren = new Set<ChildProcess>();
const liveMarkers = new Set<string>();

process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  for (const marker of liveMarkers) killByMarker(marker);
  rmSync(ROOT, { recursive: true, force: true });
});
// Interrupted (Ctrl-C, a runner's SIGTERM): still clean up, through the 'exit' handler above.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));

// ---------------------------------------------------------------------------------------------
// Small utilities

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls fn (every 100 ms) until it returns a truthy value, which is returned. Fails after
 * timeoutMs with `what` and the last error fn threw (fn may throw while things converge).
 */
export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(100);
  }
}

/** The promise's value, or `fallback` after ms (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(ROOT, `${prefix}-`));
}

/** A string no other test (or earlier run) puts in a command line. */
export function uniqueMarker(label = 'wl'): string {
  return `lattice-e2e-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Pids of live processes with `marker` in one of their command-line arguments. */
export function findPids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.split('\0').some((arg) => arg.includes(marker)) && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

/** SIGKILLs every process (and its process group) carrying the marker; returns what it found. */
export function killByMarker(marker: string): number[] {
  const pids = findPids(marker);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
  }
  return pids;
}

/** GET with a timeout; the body text, or undefined if it did not answer 2xx. */
export async function httpText(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    return response.ok ? text : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Manifests

export interface HelloOptions {
  name: string;
  marker: string;
  replicas?: number;
  greeting?: string;
  namespace?: string;
}

/**
 * examples/hello.yaml, renamed, with the absolute node path (PATH does not matter) and the
 * marker as an argument (`node -e script marker`: the script ignores it; /proc shows it).
 */
export function helloWorkload(options: HelloOptions): Workload {
  const workload = parseYaml(HELLO_YAML) as Workload;
  workload.metadata.name = options.name;
  if (options.namespace) workload.metadata.namespace = options.namespace;
  const [, ...rest] = workload.spec.command!;
  workload.spec.command = [NODE, ...rest];
  workload.spec.args = [options.marker];
  if (options.replicas !== undefined) workload.spec.replicas = options.replicas;
  if (options.greeting !== undefined) workload.spec.env = [{ name: 'GREETING', value: options.greeting }];
  return workload;
}

/** A workload running `node -e <script> <marker>` with no ports. */
export function scriptWorkload(name: string, marker: string, script: string, spec: Partial<Workload['spec']> = {}): Workload {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name },
    spec: { command: [NODE, '-e', script], args: [marker], ...spec },
  } as Workload;
}

/** A process that just stays up (and can be found by its marker). */
export const SLEEPER = 'setInterval(() => {}, 1 << 30)';

// ---------------------------------------------------------------------------------------------
// API helpers

function isNotFound(error: unknown): boolean {
  return error instanceof LatticeApiError && error.status === 404;
}

export async function getWorkload(client: LatticeClient, namespace: string, name: string): Promise<Workload | undefined> {
  try {
    return await client.get<Workload>('workloads', namespace, name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function listInstances(client: LatticeClient, namespace: string, workload?: string): Promise<Instance[]> {
  const list = await client.list<Instance>('instances', { namespace, ...(workload ? { labelSelector: `${WORKLOAD_LABEL}=${workload}` } : {}) });
  return list.items;
}

/** The scheduler's reason once the workload is Unschedulable (its Progressing condition's message). */
export async function unschedulableReason(client: LatticeClient, namespace: string, name: string, timeoutMs = 20_000): Promise<string> {
  const progressing = await waitFor(
    async () => {
      const condition = (await getWorkload(client, namespace, name))?.status?.conditions?.find((c) => c.type === 'Progressing');
      return condition?.reason === 'Unschedulable' && condition;
    },
    timeoutMs,
    `${name} to be unschedulable`,
  );
  return progressing.message ?? '';
}

export async function getAgent(client: LatticeClient, name: string): Promise<Agent | undefined> {
  try {
    return await client.get<Agent>('agents', undefined, name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export function agentReady(agent: Agent | undefined): boolean {
  return agent?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A compact one-line view of a workload and its instances, for assertion messages. */
export function describeState(workload: Workload | undefined, instances: readonly Instance[]): string {
  const w = workload
    ? `${workload.metadata.name}: phase=${workload.status?.phase} ready=${workload.status?.readyReplicas}/${workload.spec.replicas ?? 1} msg=${JSON.stringify(workload.status?.conditions?.find((c) => c.type === 'Progressing')?.message)}`
    : 'workload absent';
  const i = instances.map((x) => `${x.metadata.name}@${x.spec.agent ?? '-'}:${x.status?.state}/${x.status?.health ?? '-'} r=${x.status?.restarts ?? 0}${x.metadata.deletionTimestamp ? ' (deleting)' : ''}`);
  return `${w}; instances: [${i.join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------
// Agent processes

/** A `lattice …` child process with its output captured. */
export interface LatticeProcess {
  label: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr, interleaved, with times since spawn). */
  output(): string;
  /** What it printed on stdout only, raw. */
  stdout(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Sends the signal (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface AgentProcess extends LatticeProcess {
  name: string;
  dataDir: string;
}

export interface AgentStartOptions {
  name: string;
  server: string;
  joinToken?: string;
  dataDir?: string;
  labels?: Record<string, string>;
  /**
   * Run the tenant's process workloads and host-networked containers (the agents join with the
   * admin's token, so the tenant is not their owner): on by default, as the owner of a test
   * machine would choose; false tests the default of a real agent.
   */
  trustTenants?: boolean;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** Runs `node bin/lattice.js <args>` as a separate process. */
export function spawnLattice(label: string, args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): LatticeProcess {
  const env = { ...process.env, ...options.env };
  assertStaysOnLoopback(args, env);
  const child = spawn(NODE, [LATTICE_BIN, ...args], { cwd: options.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  let buffer = '';
  let raw = '';
  const started = Date.now();
  const stamp = () => `+${((Date.now() - started) / 1000).toFixed(1)}s`;
  const record = (stream: string) => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (stream === 'out') raw += text;
    for (const line of text.split(/(?<=\n)/)) buffer += `[${stamp()} ${stream}] ${line}`;
  };
  child.stdout!.on('data', record('out'));
  child.stderr!.on('data', record('err'));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      liveChildren.delete(child);
      buffer += `[${stamp()}] exited code=${code} signal=${signal}\n`;
      resolve({ code, signal });
    });
  });
  return {
    label,
    child,
    output: () => buffer,
    stdout: () => raw,
    exited,
    hasExited: () => done,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (done) return;
      child.kill(signal);
      await exited;
    },
  };
}

function spawnAgent(options: AgentStartOptions, dataDir: string): AgentProcess {
  const args = ['agent', '--server', options.server, '--name', options.name, '--data-dir', dataDir, '--heartbeat-seconds', String(AGENT_HEARTBEAT_MS / 1000)];
  if (options.joinToken) args.push('--join-token', options.joinToken);
  if (options.trustTenants !== false) args.push('--allow-tenant-processes', '--allow-tenant-host-network');
  if (options.labels && Object.keys(options.labels).length > 0) {
    args.push('--labels', Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join(','));
  }
  const proc = spawnLattice(`agent ${options.name}`, args, options.env ? { env: options.env } : {});
  return { ...proc, name: options.name, dataDir };
}

/** The pid the agent's process runtime recorded for an instance (dataDir/process/instances/<uid>/state.json). */
export function recordedPid(agent: AgentProcess, uid: string): number | undefined {
  try {
    const record = JSON.parse(readFileSync(join(agent.dataDir, 'process', 'instances', uid, 'state.json'), 'utf8')) as { pid?: number };
    return record.pid;
  } catch {
    return undefined;
  }
}

/** The agent's stored credential (what `lattice agent` saved at registration). */
export function agentCredential(agent: AgentProcess): { server: string; name: string; token: string } {
  return JSON.parse(readFileSync(join(agent.dataDir, 'credential.json'), 'utf8')) as { server: string; name: string; token: string };
}

// ---------------------------------------------------------------------------------------------
// The environment of one test

export interface ControlPlane {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** sqlite:<file>; a fresh file by default. */
  db?: string;
  /** 0 (any free port) by default. */
  port?: number;
  config?: ConfigOverrides;
}

/**
 * The control plane built directly (not via startTestServer): for tests that restart it on the
 * same database and port.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const db = options.db ?? `sqlite:${join(tempDir('db'), 'lattice.db')}`;
  const app = await build({
    config: { db, logger: false, bcryptCost: 4, bootstrapAdmin: ADMIN, reconciler: true, agentTimings: E2E_TIMINGS, ...options.config },
  });
  try {
    await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.server.address() as { port: number };
  let closed = false;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** A control plane that can be stopped and started again on the same database and port. */
export function restartableControlPlane(config: ConfigOverrides = {}) {
  const db = `sqlite:${join(tempDir('restart'), 'lattice.db')}`;
  let port = 0;
  let current: ControlPlane | undefined;
  return {
    async start(): Promise<ControlPlane> {
      if (port === 0) port = await freePort();
      current = await startControlPlane({ db, port, config });
      return current;
    },
    async stop(): Promise<void> {
      await current?.close();
      current = undefined;
    },
  };
}

export interface E2E {
  t: TestContext;
  /** The control plane URL (after restartServer, the new one). */
  url: string;
  admin: LatticeClient;
  /** A tenant: workloads are applied as this user, in namespace `namespace`. */
  user: LatticeClient;
  namespace: string;
  joinToken: string;
  /** Starts `lattice agent` as a separate process; waits until the Agent is Ready (unless wait: false). */
  startAgent(options: Omit<AgentStartOptions, 'server' | 'joinToken'> & { joinToken?: string | null; wait?: boolean }): Promise<AgentProcess>;
  /** Runs `lattice <args>` as a separate process, killed (SIGKILL) at the end of the test and shown on failure. */
  spawn(label: string, args: string[], options?: { env?: Record<string, string>; cwd?: string }): LatticeProcess;
  /** A fresh marker; its processes are killed at the end of the test whatever happens. */
  marker(label?: string): string;
  /** Something to print if the test fails. */
  note(line: string): void;
  /** Extra cleanup, run before the standard one. */
  cleanup(fn: () => Promise<void> | void): void;
  /** Current Workload and its Instances, compactly. */
  state(name: string): Promise<string>;
  /** Points url and the clients at a new control plane (after a restart); logs in again. */
  retarget(url: string): Promise<void>;
}

interface E2EOptions {
  /** Own control plane (restartable) instead of startTestServer. */
  controlPlane?: () => Promise<ControlPlane>;
  config?: ConfigOverrides;
}

interface Scope extends E2E {
  processes: LatticeProcess[];
  agentDirs: string[];
  markers: string[];
  cleanups: (() => Promise<void> | void)[];
  notes: string[];
}

async function loginClients(url: string): Promise<{ admin: LatticeClient; user: LatticeClient; namespace: string }> {
  const anonymous = new LatticeClient({ server: url, webSocket: nodeWebSocket });
  const admin = anonymous.withToken((await anonymous.login(ADMIN.username, ADMIN.password)).accessToken);
  const username = 'tenant';
  const password = 'tenant-password-1';
  try {
    await anonymous.register(username, password);
  } catch (error) {
    if (!(error instanceof LatticeApiError && error.status === 409)) throw error;
  }
  const user = anonymous.withToken((await anonymous.login(username, password)).accessToken);
  return { admin, user, namespace: username };
}

async function createScope(t: TestContext, options: E2EOptions): Promise<Scope> {
  let url: string;
  if (options.controlPlane) {
    const cp = await options.controlPlane();
    url = cp.url;
  } else {
    const server = await startTestServer(t, { reconciler: true, agentTimings: E2E_TIMINGS, ...options.config });
    url = server.url;
  }
  const { admin, user, namespace } = await loginClients(url);
  const { token: joinToken } = await admin.request<{ token: string }>('POST', '/auth/join-tokens', { body: { expiresInHours: 1 } });
  const scope: Scope = {
    t,
    url,
    admin,
    user,
    namespace,
    joinToken,
    processes: [],
    agentDirs: [],
    markers: [],
    cleanups: [],
    notes: [],
    async startAgent(agentOptions) {
      const dataDir = agentOptions.dataDir ?? tempDir(`agent-${agentOptions.name}`);
      mkdirSync(dataDir, { recursive: true });
      // joinToken null: start with the credential stored in the data dir only.
      const joinToken = agentOptions.joinToken === null ? undefined : (agentOptions.joinToken ?? scope.joinToken);
      const { joinToken: _given, wait: _wait, ...rest } = agentOptions;
      const agent = spawnAgent({ ...rest, server: scope.url, ...(joinToken ? { joinToken } : {}) }, dataDir);
      scope.processes.push(agent);
      scope.agentDirs.push(dataDir);
      if (agentOptions.wait !== false) {
        await waitFor(
          async () => {
            if (agent.hasExited()) throw new Error(`agent ${agent.name} exited:\n${agent.output()}`);
            // This process connected (not a stale Ready left by an earlier run of the agent), and the Agent is Ready.
            if (!agent.output().includes(`agent ${agent.name}: connected`)) return false;
            return agentReady(await getAgent(scope.admin, agent.name));
          },
          30_000,
          `agent ${agent.name} to be Ready`,
        );
      }
      return agent;
    },
    spawn(label, args, options) {
      const proc = spawnLattice(label, args, options);
      scope.processes.push(proc);
      return proc;
    },
    marker(label) {
      const m = uniqueMarker(label);
      scope.markers.push(m);
      liveMarkers.add(m);
      return m;
    },
    note(line) {
      scope.notes.push(`[${new Date().toISOString()}] ${line}`);
    },
    cleanup(fn) {
      scope.cleanups.push(fn);
    },
    async state(name) {
      const [w, i] = await Promise.all([getWorkload(scope.user, scope.namespace, name), listInstances(scope.user, scope.namespace, name)]);
      return describeState(w, i);
    },
    async retarget(newUrl) {
      scope.url = newUrl;
      const clients = await loginClients(newUrl);
      scope.admin = clients.admin;
      scope.user = clients.user;
    },
  };
  return scope;
}

async function dump(scope: Scope): Promise<void> {
  const lines: string[] = ['', '======== e2e diagnostics ========'];
  for (const note of scope.notes) lines.push(`note ${note}`);
  try {
    const [workloads, instances, agents] = await Promise.all([
      scope.user.list<Workload>('workloads', { namespace: scope.namespace }),
      scope.user.list<Instance>('instances', { namespace: scope.namespace }),
      scope.admin.list<Agent>('agents'),
    ]);
    for (const w of workloads.items) lines.push(`workload ${w.metadata.name} gen=${w.metadata.generation} status=${JSON.stringify(w.status)}`);
    for (const i of instances.items) lines.push(`instance ${i.metadata.name} agent=${i.spec.agent} deleting=${Boolean(i.metadata.deletionTimestamp)} status=${JSON.stringify(i.status)}`);
    for (const a of agents.items) lines.push(`agent ${a.metadata.name} status=${JSON.stringify({ conditions: a.status?.conditions, lastHeartbeatTime: a.status?.lastHeartbeatTime })}`);
  } catch (error) {
    lines.push(`(could not read the API: ${(error as Error).message})`);
  }
  for (const marker of scope.markers) lines.push(`marker ${marker}: pids ${JSON.stringify(findPids(marker))}`);
  for (const proc of scope.processes) lines.push(`---- ${proc.label} (pid ${proc.child.pid}) output ----`, proc.output().trimEnd());
  lines.push('======== end of diagnostics ========');
  console.log(lines.join('\n'));
}

async function teardown(scope: Scope): Promise<void> {
  for (const fn of scope.cleanups.reverse()) {
    try {
      await fn();
    } catch (error) {
      console.log(`e2e cleanup failed: ${(error as Error).message}`);
    }
  }
  await Promise.all(scope.processes.map((proc) => proc.kill('SIGKILL')));
  for (const marker of scope.markers) {
    killByMarker(marker);
    liveMarkers.delete(marker);
  }
  for (const dir of scope.agentDirs) rmSync(dir, { recursive: true, force: true });
}

export interface E2ETestOptions {
  timeout?: number;
  todo?: string | boolean;
  skip?: string | boolean;
  controlPlane?: () => Promise<ControlPlane>;
  config?: ConfigOverrides;
}

/**
 * A test with a fresh control plane (reconciler on, E2E_TIMINGS), an admin, a tenant and a join
 * token. Prints diagnostics when the body fails; always cleans up.
 */
export function e2eTest(name: string, options: E2ETestOptions, body: (env: E2E) => Promise<void>): void {
  const { controlPlane, config, timeout = 90_000, ...rest } = options;
  test(name, { timeout, ...rest }, async (t) => {
    const scope = await createScope(t, { ...(controlPlane ? { controlPlane } : {}), ...(config ? { config } : {}) });
    t.after(() => teardown(scope));
    const started = Date.now();
    try {
      await body(scope);
    } catch (error) {
      scope.note(`failed after ${Date.now() - started} ms: ${(error as Error).message}`);
      await dump(scope);
      throw error;
    }
  });
}

/** A timing worth reporting: printed as a diagnostic line of the test run. */
export function timing(t: TestContext, what: string, since: number): number {
  const ms = Date.now() - since;
  t.diagnostic(`timing: ${what}: ${(ms / 1000).toFixed(2)} s`);
  return ms;
}
