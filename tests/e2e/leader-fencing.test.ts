// Two real `lattice server` processes on one PostgreSQL database. The leader is paused (SIGSTOP)
// with workloads to reconcile: its lease session goes silent, the server ends it, and the standby
// leads within 5 s (DESIGN §9) and makes the Instances. Resumed (SIGCONT), the old leader steps
// down on its own; whatever it had in hand when stopped is refused by fencing: no Instance is made
// twice, and it reports leader=false.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../support/postgres.ts';
import { oneLeader, readyz, readyzOf, startReplica, type Replica } from '../support/replicas.ts';
import { SLEEPER, scriptWorkload, sleep, waitFor } from './support.ts';

const unavailable = postgresUnavailableReason();
if (unavailable) console.log(`# skipping the leader fencing test: ${unavailable}`);

let postgres: PostgresServer | undefined;
before(async () => {
  if (!unavailable) postgres = await startPostgres();
});
after(() => postgres?.stop());

async function post(replica: Replica, path: string, body: unknown, token?: string): Promise<unknown> {
  const response = await fetch(`${replica.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `POST ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** Instances per workload, from the database itself (every replica's writes, none cached). */
async function instancesPerWorkload(db: pg.Client): Promise<Map<string, number>> {
  const { rows } = await db.query<{ workload: string; n: string }>(
    `select c.object::json->'spec'->>'workload' as workload, count(*) as n
       from objects o join changes c on c.revision = o.revision
      where o.kind = 'Instance' group by 1`,
  );
  return new Map(rows.map((r) => [r.workload, Number(r.n)]));
}

const WORKLOADS = 30;
const REPLICAS = 2;

test('a paused leader loses the lease within 5 s; resumed, it writes nothing and steps down', { skip: unavailable, timeout: 120_000 }, async (t) => {
  const url = await postgres!.createDatabase();
  const replicas = [await startReplica('server a', url), await startReplica('server b', url)];
  t.after(() => Promise.all(replicas.map((r) => r.proc.kill())));
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  t.after(() => db.end());

  const leader = await oneLeader(replicas);
  const standby = replicas.find((r) => r !== leader)!;
  const first = await readyzOf(leader);

  const { namespace } = (await post(standby, '/auth/register', { username: 'fencing-user', password: 'fencing-password-1' })) as { namespace: string };
  const { accessToken } = (await post(standby, '/auth/login', { username: 'fencing-user', password: 'fencing-password-1' })) as { accessToken: string };
  // No agents: the Instances stay Pending, written once each by whichever replica leads.
  const batch = (from: number) =>
    Array.from({ length: WORKLOADS / 2 }, (_, i) => ({ ...scriptWorkload(`wl-${from + i}`, `fencing-${from + i}`, SLEEPER, { replicas: REPLICAS }), metadata: { name: `wl-${from + i}`, namespace } }));

  // Work in the leader's hands as it stops: it hears of these and starts reconciling them.
  await post(standby, '/apply', batch(0), accessToken);
  await sleep(20);
  const stopped = Date.now();
  leader.proc.child.kill('SIGSTOP');
  t.after(() => void leader.proc.child.kill('SIGCONT'));
  // And work it hears of only when it resumes (its change feed's socket holds the notifications).
  await post(standby, '/apply', batch(WORKLOADS / 2), accessToken);

  const next = await waitFor(async () => {
    const state = await readyzOf(standby);
    return state.leader && state;
  }, 5_000, 'the standby to lead within 5 s of the SIGSTOP');
  t.diagnostic(`takeover after SIGSTOP: ${Date.now() - stopped} ms`);
  assert.ok(next.epoch > first.epoch, `epoch ${next.epoch} > ${first.epoch}`);

  const complete = (counts: Map<string, number>) => counts.size === WORKLOADS && [...counts.values()].every((n) => n === REPLICAS);
  await waitFor(async () => complete(await instancesPerWorkload(db)), 20_000, 'the new leader to make every Instance');
  const before = Number((await db.query<{ r: string }>(`select max(revision) as r from changes`)).rows[0]!.r);

  leader.proc.child.kill('SIGCONT');
  await waitFor(async () => (await readyz(leader.url))?.leader === false, 10_000, 'the resumed replica to answer as a standby');
  // Room for whatever it had queued to be tried (and refused).
  await sleep(3_000);
  assert.equal((await readyzOf(leader)).leader, false);
  assert.equal((await readyzOf(standby)).leader, true);
  assert.equal((await readyzOf(standby)).epoch, next.epoch);

  const counts = await instancesPerWorkload(db);
  assert.ok(complete(counts), `one set of Instances per workload: ${JSON.stringify([...counts])}`);
  const { rows: later } = await db.query<{ kind: string; type: string }>(`select kind, type from changes where revision > $1 and kind = 'Instance' and type = 'ADDED'`, [before]);
  assert.deepEqual(later, [], 'no Instance made after the resume');
  const output = leader.proc.output();
  assert.match(output, /leader lease: (no heartbeat answered|its connection was lost|.*superseded)/, `the resumed leader says why it stepped down:\n${output}`);
  // Whether fencing refused anything depends on what was in flight at the SIGSTOP (a reconcile
  // awaiting the database): told, not asserted. tests/store/fencing.test.ts and
  // tests/controlplane/leader-lease.test.ts show the refusal itself deterministically.
  for (const line of output.split('\n').filter((l) => /leader/.test(l))) t.diagnostic(line);
});
