// An agent given several server URLs (`--server A,B`): it registers and connects past a URL that
// does not answer; and with two real `lattice server` replicas on one PostgreSQL database, after
// `kill -9` of the replica it is connected to, it reconnects to the other, is Ready there, nothing
// restarts (same instance uids and pids), and a scale-up applied through the survivor is carried out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LatticeApiError, LatticeClient } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import type { Instance } from '../../schemas/types.gen.ts';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../support/postgres.ts';
import { ADMIN } from '../support/server.ts';
import { leads, startReplica } from '../support/replicas.ts';
import {
  SLEEPER,
  agentCredential,
  agentReady,
  describeState,
  e2eTest,
  findPids,
  freePort,
  getAgent,
  getWorkload,
  isAlive,
  killByMarker,
  listInstances,
  recordedPid,
  scriptWorkload,
  sleep,
  spawnLattice,
  tempDir,
  timing,
  uniqueMarker,
  waitFor,
  type AgentProcess,
  type LatticeProcess,
} from './support.ts';

const HEARTBEAT_SECONDS = '0.5';

e2eTest('an agent given a URL that does not answer and then a real one registers and connects through the second', { timeout: 60_000 }, async (env) => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const servers = `${closed},${env.url}`;
  const dataDir = tempDir('agent-listed');
  const args = ['agent', '--server', servers, '--name', 'listed', '--data-dir', dataDir, '--heartbeat-seconds', HEARTBEAT_SECONDS, '--allow-tenant-processes'];
  const first = env.spawn('agent listed', [...args, '--join-token', env.joinToken]);
  const connected = async (proc: LatticeProcess) => {
    if (proc.hasExited()) throw new Error(`the agent exited:\n${proc.output()}`);
    return proc.output().includes(`agent listed: connected to ${env.url}`) && agentReady(await getAgent(env.admin, 'listed'));
  };
  await waitFor(() => connected(first), 30_000, 'the agent to connect through the second URL and be Ready');
  assert.match(first.output(), new RegExp(`registration at ${closed} failed \\(ECONNREFUSED\\); trying the next server`));
  assert.match(first.output(), new RegExp(`registered at ${env.url}`));
  // The first URL names the cluster: the credential is kept under it, whichever replica answered.
  assert.equal(agentCredential({ ...first, name: 'listed', dataDir }).server, closed);

  // Restarted with the same list and no join token: the stored credential is found under that name.
  await first.kill('SIGKILL');
  const again = env.spawn('agent listed again', args);
  await waitFor(() => connected(again), 30_000, 'the restarted agent to connect with its stored credential');
});

// ---------------------------------------------------------------------------------------------
// Two replicas on one PostgreSQL database

const unavailable = postgresUnavailableReason();
if (unavailable) console.log(`# skipping the replica agent failover test: ${unavailable}`);

let postgres: PostgresServer | undefined;
before(async () => {
  if (!unavailable) postgres = await startPostgres();
});
after(() => postgres?.stop());

/** The admin and a tenant (whose namespace the workload goes in), logged in at `url`. */
async function clientsAt(url: string): Promise<{ admin: LatticeClient; user: LatticeClient }> {
  const anonymous = new LatticeClient({ server: url, webSocket: nodeWebSocket });
  const admin = anonymous.withToken((await anonymous.login(ADMIN.username, ADMIN.password)).accessToken);
  try {
    await anonymous.register('tenant', 'tenant-password-1');
  } catch (error) {
    if (!(error instanceof LatticeApiError && error.status === 409)) throw error;
  }
  const user = anonymous.withToken((await anonymous.login('tenant', 'tenant-password-1')).accessToken);
  return { admin, user };
}

/** uid → pid of each instance of the workload, as the agent's process runtime recorded them. */
function pidsByUid(agent: AgentProcess, instances: readonly Instance[]): Map<string, number | undefined> {
  return new Map(instances.map((i) => [i.metadata.uid!, recordedPid(agent, i.metadata.uid!)]));
}

test('kill -9 of the replica an agent is connected to: it reconnects to the other, is Ready there, nothing restarts, and a scale-up through the survivor is carried out', { skip: unavailable, timeout: 120_000 }, async (t) => {
  const db = await postgres!.createDatabase();
  const processes: LatticeProcess[] = [];
  const marker = uniqueMarker('roam');
  t.after(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    killByMarker(marker);
  });
  const a = await startReplica('server a', db);
  processes.push(a.proc);
  const b = await startReplica('server b', db);
  processes.push(b.proc);
  const atA = await clientsAt(a.url);
  const atB = await clientsAt(b.url);
  const ns = 'tenant';
  const name = 'roam';
  t.diagnostic(`leader before the kill: ${(await leads(a)) ? 'a' : (await leads(b)) ? 'b' : 'none yet'}`);

  try {
    const { token: joinToken } = await atA.admin.request<{ token: string }>('POST', '/auth/join-tokens', { body: { expiresInHours: 1 } });
    const dataDir = tempDir('agent-roamer');
    const proc = spawnLattice('agent roamer', [
      'agent', '--server', `${a.url},${b.url}`, '--name', 'roamer', '--data-dir', dataDir,
      '--heartbeat-seconds', HEARTBEAT_SECONDS, '--join-token', joinToken, '--allow-tenant-processes',
    ]);
    processes.push(proc);
    const agent: AgentProcess = { ...proc, name: 'roamer', dataDir };
    await waitFor(
      async () => {
        if (proc.hasExited()) throw new Error(`the agent exited:\n${proc.output()}`);
        return proc.output().includes(`agent roamer: connected to ${a.url}`) && agentReady(await getAgent(atA.admin, 'roamer'));
      },
      30_000,
      'the agent to connect to replica a (first in its list) and be Ready',
    );

    // Applied through b: the agent, connected to a, carries it out all the same.
    await atB.user.apply([scriptWorkload(name, marker, SLEEPER, { replicas: 2 })]);
    const running = async (replicas: number, client: LatticeClient) => {
      const w = await getWorkload(client, ns, name);
      const instances = (await listInstances(client, ns, name)).filter((i) => !i.metadata.deletionTimestamp);
      const ok = w?.status?.phase === 'Running' && w.status.readyReplicas === replicas && instances.length === replicas && instances.every((i) => i.status?.state === 'Running');
      return ok ? instances : undefined;
    };
    const before = await waitFor(() => running(2, atB.user), 30_000, `${name} to run 2 replicas`);
    const pidsBefore = pidsByUid(agent, before);
    for (const [uid, pid] of pidsBefore) assert.ok(pid && isAlive(pid), `instance ${uid} runs (pid ${pid})`);
    assert.deepEqual(findPids(marker), [...pidsBefore.values()].sort((x, y) => x! - y!));

    // ---- kill -9 the replica the agent is connected to
    const killed = Date.now();
    await a.proc.kill('SIGKILL');
    await waitFor(
      async () => proc.output().includes(`agent roamer: connected to ${b.url}`) && agentReady(await getAgent(atB.admin, 'roamer')),
      20_000,
      'the agent to reconnect to replica b and be Ready there',
    );
    timing(t, 'replica kill -9 → agent reconnected to the other and Ready', killed);
    await waitFor(() => leads(b), 10_000, 'replica b to lead');

    // Longer than a heartbeat period many times over: the agent stays Ready, nothing is restarted or replaced.
    for (let i = 0; i < 10; i++) {
      assert.ok(agentReady(await getAgent(atB.admin, 'roamer')), 'the agent stays Ready on b');
      await sleep(500);
    }
    const afterKill = await running(2, atB.user);
    assert.ok(afterKill, `still Running with the same 2 replicas: ${describeState(await getWorkload(atB.user, ns, name), await listInstances(atB.user, ns, name))}`);
    assert.deepEqual(new Set(afterKill.map((i) => i.metadata.uid)), new Set(pidsBefore.keys()), 'the same instances (uids)');
    assert.deepEqual(pidsByUid(agent, afterKill), pidsBefore, 'the same processes (pids): nothing restarted');
    for (const i of afterKill) assert.equal(i.status?.restarts ?? 0, 0, `instance ${i.metadata.name} never restarted`);
    assert.deepEqual(findPids(marker), [...pidsBefore.values()].sort((x, y) => x! - y!));

    // ---- a scale-up through the survivor is carried out by the agent
    await atB.user.apply([scriptWorkload(name, marker, SLEEPER, { replicas: 3 })]);
    const scaled = await waitFor(() => running(3, atB.user), 30_000, `${name} to run 3 replicas`);
    for (const uid of pidsBefore.keys()) assert.ok(scaled.some((i) => i.metadata.uid === uid), `instance ${uid} kept`);
    await waitFor(() => findPids(marker).length === 3, 10_000, 'three workload processes');
    for (const pid of pidsBefore.values()) assert.ok(isAlive(pid!), `pid ${pid} still runs`);
  } catch (error) {
    for (const p of processes) console.log(`---- ${p.label} (pid ${p.child.pid}) output ----\n${p.output().trimEnd()}`);
    throw error;
  }
});
