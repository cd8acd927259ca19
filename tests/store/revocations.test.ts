// Revocations reach every store sharing the database: the revoking one at once, the others (on
// PostgreSQL, other replicas) by NOTIFY within moments. AuthService drops a revoked session from
// its cache and the ControlPlane cuts off a replaced agent credential on hearing them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Revocation } from '../../store/auth-store.ts';
import { openForTest, postgresBackend, sqliteBackend } from '../support/store-backends.ts';

const postgres = postgresBackend();
const sqlite = sqliteBackend();
before(async () => {
  await sqlite.start();
  if (!postgres.skip) await postgres.start();
});
after(async () => {
  await sqlite.stop();
  await postgres.stop();
});

test('PostgreSQL: a revocation by one replica reaches the others', { skip: postgres.skip }, async (t) => {
  const url = await postgres.freshUrl();
  const [revoking, other] = [await openForTest(t, url), await openForTest(t, url)];
  const here: Revocation[] = [];
  revoking.auth.onRevoked((revocation) => here.push(revocation));
  const elsewhere: Revocation[] = [];
  let wake: (() => void) | undefined;
  other.auth.onRevoked((revocation) => {
    elsewhere.push(revocation);
    wake?.();
  });
  const until = async (count: number) => {
    const deadline = Date.now() + 2_000;
    while (elsewhere.length < count) {
      if (Date.now() > deadline) throw new Error(`heard ${JSON.stringify(elsewhere)} on the other replica, wanted ${count}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };

  await revoking.auth.createUser({ username: 'alice', passwordHash: 'x', role: 'user', createdAt: new Date().toISOString() }, 'alice');
  await revoking.auth.createSession('session-1', 'alice', new Date().toISOString());
  await revoking.auth.revokeSession('session-1', new Date().toISOString());
  assert.deepEqual(here, [{ session: 'session-1' }], 'heard here at once');
  await until(1);
  assert.deepEqual(elsewhere, [{ session: 'session-1' }]);

  await revoking.auth.setAgentCredential('edge-1', 'hash', new Date().toISOString());
  await revoking.auth.deleteAgentCredential('edge-1');
  await until(3);
  assert.deepEqual(elsewhere.slice(1), [{ agent: 'edge-1' }, { agent: 'edge-1' }], 'a replaced and a deleted credential');
  // Its own announcements come back to the revoking store's listener too: heard once, not twice.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(here, [{ session: 'session-1' }, { agent: 'edge-1' }, { agent: 'edge-1' }]);
});

test('SQLite: one process, heard at once', async (t) => {
  const store = await openForTest(t, await sqlite.freshUrl());
  const here: Revocation[] = [];
  store.auth.onRevoked((revocation) => here.push(revocation));
  await store.auth.createUser({ username: 'bob', passwordHash: 'x', role: 'user', createdAt: new Date().toISOString() }, 'bob');
  await store.auth.createSession('session-2', 'bob', new Date().toISOString());
  await store.auth.revokeSession('session-2', new Date().toISOString());
  await store.auth.setAgentCredential('edge-2', 'hash', new Date().toISOString());
  assert.deepEqual(here, [{ session: 'session-2' }, { agent: 'edge-2' }]);
});
