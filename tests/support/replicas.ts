// Real `lattice server` replicas on one PostgreSQL database, for the tests of several replicas
// (tests/e2e/leader-*.test.ts, replica*.test.ts): each one spawned as an operator runs it, and
// what /readyz says of it (ready, leading, its epoch and replica id).
//
// Not for bench/replica-support.ts: this builds on tests/e2e/support.ts's spawnLattice (its
// processes die with the test run), and that module installs exit handlers and a temp root when
// it is imported.
import assert from 'node:assert/strict';
import { LatticeClient } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import type { Readiness } from '../../schemas/types.gen.ts';
import { ADMIN } from './server.ts';
import { freePort, spawnLattice, waitFor, type LatticeProcess } from '../e2e/support.ts';


/** GET /readyz; undefined while it does not answer 200 (not up yet, gone, or stopped). */
export async function readyz(url: string, timeoutMs = 1_000): Promise<Readiness | undefined> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? ((await response.json()) as Readiness) : undefined;
  } catch {
    return undefined;
  }
}

export interface Replica {
  label: string;
  proc: LatticeProcess;
  url: string;
  /** Its replica id (what Agent status.replica names). */
  id: string;
}

/**
 * /readyz of a replica that has to answer: fails the test if it does not (a standby is ready
 * too). A longer timeout than readyz's: this is an assertion, not a poll.
 */
export async function readyzOf(replica: Replica): Promise<Readiness> {
  const state = await readyz(replica.url, 10_000);
  assert.ok(state, `${replica.label} answers /readyz with 200 (a standby is ready too)`);
  return state;
}

export async function leads(replica: Replica): Promise<boolean> {
  return (await readyz(replica.url))?.leader === true;
}

/**
 * Spawns `lattice server` on a free loopback port with LATTICE_DB=db and the test admin (env on
 * top: agent timings and the like); resolves once /readyz answers.
 */
export async function startReplica(label: string, db: string, env: Record<string, string> = {}): Promise<Replica> {
  const port = await freePort();
  const proc = spawnLattice(label, ['server', '--listen', `127.0.0.1:${port}`], {
    env: { LATTICE_DB: db, LATTICE_ADMIN_USERNAME: ADMIN.username, LATTICE_ADMIN_PASSWORD: ADMIN.password, ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = await waitFor(
    async () => {
      if (proc.hasExited()) throw new Error(`${label} exited:\n${proc.output()}`);
      return readyz(url);
    },
    30_000,
    `${label} to be ready`,
  );
  return { label, proc, url, id: ready.replica };
}

/**
 * The first replica alone (it takes the lease and creates the schema), then the others together;
 * resolves once the first leads.
 */
export async function startCluster(count: number, db: string, env: Record<string, string> = {}): Promise<Replica[]> {
  const labels = Array.from({ length: count }, (_, i) => `server ${String.fromCharCode(97 + i)}`);
  const first = await startReplica(labels[0]!, db, env);
  const rest = await Promise.all(labels.slice(1).map((label) => startReplica(label, db, env)));
  await waitFor(() => leads(first), 10_000, `${first.label} to lead`);
  return [first, ...rest];
}

/** Polls until every replica answers /readyz and exactly one of them leads; returns that one. */
export async function oneLeader(replicas: readonly Replica[], timeoutMs = 10_000): Promise<Replica> {
  return waitFor(
    async () => {
      const states = await Promise.all(replicas.map((r) => readyz(r.url)));
      if (!states.every((s) => s !== undefined)) return undefined;
      const leading = replicas.filter((_, i) => states[i]!.leader);
      return leading.length === 1 ? leading[0] : undefined;
    },
    timeoutMs,
    'exactly one leader',
  );
}

/** A user logged in at url: a client carrying its access token, and the token. */
export async function loginAt(url: string, username: string, password: string): Promise<{ client: LatticeClient; accessToken: string }> {
  const anonymous = new LatticeClient({ server: url, webSocket: nodeWebSocket });
  const { accessToken } = await anonymous.login(username, password);
  return { client: anonymous.withToken(accessToken), accessToken };
}

/** The admin, logged in at url (the admin's namespace is its user name). */
export async function adminAt(url: string): Promise<LatticeClient> {
  return (await loginAt(url, ADMIN.username, ADMIN.password)).client;
}
