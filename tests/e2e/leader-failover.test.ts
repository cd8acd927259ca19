// Two real `lattice server` processes on one PostgreSQL database: exactly one holds the leader
// lease (on /readyz and /metrics, the other ready as a standby); after `kill -9` of the leader,
// the standby leads with a larger epoch within 5 s (its next try after the lock frees: a standby
// tries every 0.5 s).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../support/postgres.ts';
import { ADMIN } from '../support/server.ts';
import { oneLeader, readyzOf, startReplica, type Replica } from '../support/replicas.ts';
import { waitFor } from './support.ts';

const unavailable = postgresUnavailableReason();
if (unavailable) console.log(`# skipping the leader failover test: ${unavailable}`);

let postgres: PostgresServer | undefined;
before(async () => {
  if (!unavailable) postgres = await startPostgres();
});
after(() => postgres?.stop());

interface Leadership {
  leader: boolean;
  epoch: number;
}

async function metrics(replica: Replica, token: string): Promise<Leadership> {
  const text = await (await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
  return { leader: gauge('lattice_leader') === 1, epoch: gauge('lattice_leader_epoch') };
}

async function adminToken(replica: Replica): Promise<string> {
  const response = await fetch(`${replica.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  assert.equal(response.status, 200, `admin login: ${await response.clone().text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

test('one of two replicas leads; after kill -9 of the leader the other leads with a larger epoch within 5 s', { skip: unavailable }, async (t) => {
  const db = await postgres!.createDatabase();
  const replicas = [await startReplica('server a', db), await startReplica('server b', db)];
  t.after(() => Promise.all(replicas.map((r) => r.proc.kill())));
  const token = await adminToken(replicas[0]!);

  // The second replica starts while the first already leads.
  const leader = await oneLeader(replicas);
  const standby = replicas.find((r) => r !== leader)!;
  const first = await readyzOf(leader);
  assert.ok(first.epoch >= 1);
  assert.equal((await readyzOf(standby)).leader, false);
  assert.deepEqual(await metrics(leader, token), { leader: true, epoch: first.epoch });
  assert.equal((await metrics(standby, token)).leader, false);

  const killed = Date.now();
  await leader.proc.kill('SIGKILL');
  const next = await waitFor(async () => {
    const state = await readyzOf(standby);
    return state.leader && state;
  }, 5_000, 'the standby to lead');
  const takeoverMs = Date.now() - killed;
  t.diagnostic(`takeover after kill -9: ${takeoverMs} ms`);
  assert.ok(next.epoch > first.epoch, `epoch ${next.epoch} > ${first.epoch}`);
  assert.deepEqual(await metrics(standby, token), { leader: true, epoch: next.epoch });
});
