// Real `lattice server` replicas on one PostgreSQL database, for bench/replicas.bench.ts.
//
// Not tests/e2e/support.ts's spawnLattice: that module imports node:test and the whole control
// plane, and installs process-wide exit handlers and a temp root at import time, which a bench
// suite loaded by bench/main.ts next to the others should not. This is the small part it needs:
// spawn `node bin/lattice.js server` (exactly what an operator runs), wait for /readyz, kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../agent/runtime/host-ports.ts';
import type { Readiness } from '../schemas/types.gen.ts';

const LATTICE_BIN = fileURLToPath(new URL('../bin/lattice.js', import.meta.url));
const REPO = fileURLToPath(new URL('../', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 50;
/** What is kept of a replica's output, for the error when it fails to start. */
const OUTPUT_TAIL_CHARS = 16_000;

export const BENCH_ADMIN = { username: 'bench-admin', password: 'bench-admin-password-1' };


export interface Replica {
  label: string;
  url: string;
  child: ChildProcess;
  exited: Promise<void>;
  hasExited(): boolean;
  output(): string;
  /** kill -9, resolved once the process is gone. */
  kill(): Promise<void>;
}

// Every replica this process started and has not seen exit: killed by killAllReplicas() and,
// as a last resort, on process exit (a failed bench must not leave servers holding ports).
const live = new Set<Replica>();

export function killAllReplicasSync(): void {
  for (const replica of live) {
    try {
      replica.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function killAllReplicas(): Promise<void> {
  await Promise.all([...live].map((r) => r.kill()));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** GET /readyz; undefined while it does not answer 200. */
export async function readyz(url: string, timeoutMs = 1_000): Promise<Readiness | undefined> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    return (await response.json()) as Readiness;
  } catch {
    return undefined;
  }
}

/**
 * Spawns `lattice server --listen 127.0.0.1:<free port>` with LATTICE_DB=db and resolves once
 * /readyz answers (a standby is ready too). Throws with the replica's output if it exits first.
 */
export async function startReplica(label: string, db: string, env: Record<string, string> = {}): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [LATTICE_BIN, 'server', '--listen', `127.0.0.1:${port}`], {
    cwd: REPO,
    env: { ...process.env, LATTICE_DB: db, LATTICE_ADMIN_USERNAME: BENCH_ADMIN.username, LATTICE_ADMIN_PASSWORD: BENCH_ADMIN.password, ...env },
    // Piped, and always drained: a server blocked on a full stdout pipe would stall the bench.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const record = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      live.delete(replica);
      resolve();
    });
  });
  const replica: Replica = {
    label,
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    hasExited: () => done,
    output: () => tail,
    async kill() {
      if (done) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  live.add(replica);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (done) throw new Error(`replica ${label} exited during startup:\n${tail}`);
    if (await readyz(replica.url)) return replica;
    if (Date.now() > deadline) {
      await replica.kill();
      throw new Error(`replica ${label} not ready within ${READY_TIMEOUT_MS} ms:\n${tail}`);
    }
    await sleep(READY_POLL_MS);
  }
}

/** Polls every replica's /readyz until exactly one leads; returns its index. */
export async function waitForOneLeader(replicas: readonly Replica[], timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(replicas.map((r) => readyz(r.url)));
    const leaders = states.flatMap((s, i) => (s?.leader ? [i] : []));
    if (leaders.length === 1) return leaders[0]!;
    if (Date.now() > deadline) throw new Error(`no single leader among ${replicas.length} replicas within ${timeoutMs} ms: ${JSON.stringify(states)}`);
    await sleep(READY_POLL_MS);
  }
}
