// The auth tables behave the same on every backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AlreadyExistsError } from '../../store/errors.ts';
import { allBackends, openForTest } from '../support/store-backends.ts';

for (const backend of allBackends()) {
  describe(`auth store: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());

    test('users, namespaces, sessions, refresh tokens, API tokens, join tokens, agent credentials and server keys', async (t) => {
      const { auth } = await openForTest(t, await backend.freshUrl());
      const user = { username: 'alice', passwordHash: '$2b$04$hash', role: 'user' as const, createdAt: '2026-01-01T00:00:00.000Z' };
      await auth.createUser(user, 'alice');
      await assert.rejects(auth.createUser(user, 'alice'), AlreadyExistsError);
      assert.deepEqual(await auth.findUser('alice'), user);
      assert.equal(await auth.findUser('bob'), undefined);
      assert.deepEqual(await auth.namespacesOf('alice'), ['alice']);

      await auth.createSession('s1', 'alice', '2026-01-01T00:00:00.000Z');
      assert.equal(await auth.activeSessionUser('s1'), 'alice');
      await auth.addRefreshToken('h1', 's1', '2027-01-01T00:00:00.000Z');
      assert.deepEqual(await auth.findRefreshToken('h1'), { sessionId: 's1', username: 'alice', expiresAt: '2027-01-01T00:00:00.000Z', usedAt: null, sessionRevokedAt: null });
      assert.equal(await auth.useRefreshToken('h1', '2026-01-02T00:00:00.000Z'), true);
      assert.equal(await auth.useRefreshToken('h1', '2026-01-03T00:00:00.000Z'), false, 'a token is used once');
      await auth.revokeSession('s1', '2026-01-04T00:00:00.000Z');
      assert.equal(await auth.activeSessionUser('s1'), undefined);
      assert.equal((await auth.findRefreshToken('h1'))?.sessionRevokedAt, '2026-01-04T00:00:00.000Z');

      const token = { id: 't1', username: 'alice', name: 'ci', hash: 'abc', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null, revokedAt: null };
      await auth.createApiToken(token);
      assert.deepEqual(await auth.findApiToken('t1'), token);
      assert.deepEqual(await auth.listApiTokens('alice'), [token]);
      assert.equal(await auth.revokeApiToken('bob', 't1', '2026-01-05T00:00:00.000Z'), false, 'only the owner revokes');
      assert.equal(await auth.revokeApiToken('alice', 't1', '2026-01-05T00:00:00.000Z'), true);
      assert.equal(await auth.revokeApiToken('alice', 't1', '2026-01-06T00:00:00.000Z'), false);

      const join = { id: 'j1', username: 'alice', hash: 'jh', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-02T00:00:00.000Z' };
      await auth.createJoinToken(join);
      assert.deepEqual(await auth.findJoinToken('j1'), join);
      assert.equal(await auth.findJoinToken('nope'), undefined);
      const join2 = { ...join, id: 'j2', hash: 'jh2', createdAt: '2026-01-01T00:00:01.000Z' };
      await auth.createJoinToken(join2);
      assert.deepEqual(await auth.listJoinTokens('alice'), [join, join2]);
      assert.deepEqual(await auth.listJoinTokens('bob'), []);
      assert.equal(await auth.deleteJoinToken('bob', 'j2'), false, 'only the creator revokes');
      assert.equal(await auth.deleteJoinToken('alice', 'j2'), true);
      assert.equal(await auth.deleteJoinToken('alice', 'j2'), false);
      assert.equal(await auth.findJoinToken('j2'), undefined);
      assert.deepEqual(await auth.listJoinTokens('alice'), [join]);
      await auth.setAgentCredential('laptop', 'c1', '2026-01-01T00:00:00.000Z');
      await auth.setAgentCredential('laptop', 'c2', '2026-01-02T00:00:00.000Z');
      assert.equal(await auth.agentCredentialHash('laptop'), 'c2', 're-registration replaces the credential');
      assert.equal(await auth.agentCredentialHash('other'), undefined);
      assert.equal(await auth.deleteAgentCredential('laptop'), true);
      assert.equal(await auth.agentCredentialHash('laptop'), undefined, 'a deleted Agent’s credential is revoked');
      assert.equal(await auth.deleteAgentCredential('laptop'), false);

      const key = await auth.serverKey('jwt', () => 'first');
      assert.equal(key, 'first');
      assert.equal(await auth.serverKey('jwt', () => 'second'), 'first', 'generated once, then kept');
    });
  });
}
