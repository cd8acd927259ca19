// Security table against the real server: every row is refused (or answered) exactly as it
// should be, and nothing in the store changes unless the row says how much it writes itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, decodeJwt } from 'jose';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import type { WatchMessage } from '../../schemas/types.gen.ts';
import type { LatticeClient, WatchParams, WatchStream } from '../../client/api-client.ts';
import type { ConfigOverrides } from '../../controlplane/config.ts';
import type { StoredObject } from '../../store/types.ts';
import { rawRequest, startTestServer, type TestServer } from '../support/server.ts';

// ---------------------------------------------------------------------------------------------
// Fixture: alice (namespace alice) with examples/web.yaml and a secret, bob (namespace bob), an admin.

const WEB_YAML = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8');
const PASSWORD = 'hunter2-correct-horse';
const SECRET = { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'db' }, spec: { data: { password: PASSWORD } } };

interface Session {
  client: LatticeClient;
  accessToken: string;
  refreshToken: string;
}

interface Fixture {
  server: TestServer;
  alice: Session;
  bob: Session;
  adminToken: string;
}

interface Scope {
  after(fn: () => Promise<void> | void): void;
}

async function startFixture(scope: Scope, config: ConfigOverrides = {}, seed = true): Promise<Fixture> {
  const server = await startTestServer(scope, config);
  const alice = await server.user('alice');
  const bob = await server.user('bob');
  const adminToken = (await server.admin()).options.token!;
  if (seed) {
    await alice.client.apply(WEB_YAML);
    await alice.client.apply([SECRET]);
  }
  return { server, alice, bob, adminToken };
}

const cleanups: (() => Promise<void> | void)[] = [];
let shared: Fixture;

before(async () => {
  shared = await startFixture({ after: (fn) => cleanups.push(fn) });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

// ---------------------------------------------------------------------------------------------
// Helpers

interface Answer {
  status: number;
  body: unknown;
  headers?: Headers;
}

type RequestInit = Parameters<typeof rawRequest>[1];

const send = (f: Fixture, init: RequestInit): Promise<Answer> => rawRequest(f.server.url, init);

/** POST /auth/login from a given loopback source address (127.0.0.0/8 all reaches the server on 127.0.0.1). */
function loginFrom(url: string, localAddress: string, username: string, password: string): Promise<Answer> {
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/api/v1/auth/login`, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: new Headers(response.headers as Record<string, string>), body: JSON.parse(text) as Answer['body'] }));
    });
    request.on('error', reject);
    request.end(body);
  });
}
const json = (value: unknown) => ({ contentType: 'application/json', body: JSON.stringify(value) });
const workload = (name: string, namespace?: string) => ({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { image: 'nginx:1' } });
const applyAs = (f: Fixture, token: string | undefined, manifests: unknown, headers?: Record<string, string>) =>
  send(f, { method: 'POST', path: '/api/v1/apply', token, headers, ...json(manifests) });
const aliceWeb = (f: Fixture) => f.server.app.store.get({ kind: 'Workload', namespace: 'alice', name: 'web' });

/** Opens a watch that should be refused; answers with the refused upgrade's status and body. */
function refusedWatch(f: Fixture, query: string, auth: { header?: string; queryToken?: string }): Promise<Answer> {
  const url = `${f.server.url.replace(/^http/, 'ws')}/api/v1/watch?${query}${auth.queryToken ? `&access_token=${encodeURIComponent(auth.queryToken)}` : ''}`;
  return new Promise<Answer>((resolve, reject) => {
    const socket = new WebSocket(url, { headers: auth.header ? { authorization: `Bearer ${auth.header}` } : {} });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`watch ?${query}: no answer within 5 s`));
    }, 5000);
    socket.on('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        clearTimeout(timer);
        socket.terminate();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown });
      });
    });
    socket.on('open', () => {
      clearTimeout(timer);
      socket.close();
      resolve({ status: 101, body: 'the upgrade was accepted' });
    });
    socket.on('error', () => {}); // 'unexpected-response' or the timeout reports
  });
}

/** Collects a watch's messages in the background; until() waits for a condition, or fails after timeoutMs. */
class WatchReader {
  readonly messages: WatchMessage[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly stream: WatchStream) {
    void (async () => {
      for await (const message of stream) {
        this.messages.push(message);
        this.wake?.();
      }
      this.ended = true;
      this.wake?.();
    })();
  }

  async until(done: (messages: WatchMessage[]) => boolean, timeoutMs = 5000): Promise<WatchMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.messages)) {
      const left = deadline - Date.now();
      if (this.ended || left <= 0) {
        throw new Error(`the watch ${this.ended ? 'ended' : 'timed out'} after ${this.messages.length} messages without the expected one: ${JSON.stringify(this.messages).slice(0, 1000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.messages;
  }

  close(): void {
    this.stream.close();
  }
}

const objectsOf = (messages: WatchMessage[]) =>
  messages.filter((m): m is Extract<WatchMessage, { type: 'ADDED' | 'MODIFIED' | 'DELETED' }> => m.type === 'ADDED' || m.type === 'MODIFIED' || m.type === 'DELETED');
const sees = (namespace: string, name: string) => (messages: WatchMessage[]) => objectsOf(messages).some((m) => m.object.metadata.namespace === namespace && m.object.metadata.name === name);

/**
 * Bob watches with params; once his first workload arrives the watch is live (its start revision
 * precedes that write), so alice's workload and secret written next are in its range; bob's second
 * workload, written after them, arrives only after anything of alice's could have. alice/web and
 * alice/db, written before the watch, test its initial listing.
 */
async function bobWatchesWhileAliceWrites(f: Fixture, params: WatchParams, suffix: string): Promise<Answer> {
  const watch = new WatchReader(f.bob.client.watch(params));
  try {
    await f.bob.client.apply([workload(`bob-${suffix}-1`)]);
    await watch.until(sees('bob', `bob-${suffix}-1`));
    await f.alice.client.apply([workload(`alice-${suffix}`), { ...SECRET, metadata: { name: `alice-${suffix}` } }]);
    await f.bob.client.apply([workload(`bob-${suffix}-2`)]);
    const messages = await watch.until(sees('bob', `bob-${suffix}-2`));
    const leaked = objectsOf(messages).filter((m) => m.object.metadata.namespace !== 'bob');
    assert.deepEqual(leaked, [], "bob's watch delivered objects outside his namespace");
    return { status: 101, body: messages };
  } finally {
    watch.close();
  }
}

function assertSecurityHeaders(headers: Headers | undefined): void {
  assert.ok(headers);
  assert.equal(headers.get('x-content-type-options'), 'nosniff');
  assert.equal(headers.get('x-frame-options'), 'DENY');
}

function assertRedacted(object: StoredObject): void {
  assert.deepEqual((object.spec as { data?: unknown }).data, { password: '<redacted>' }, `secret ${object.metadata.name} must be redacted`);
}

async function apiToken(f: Fixture): Promise<{ id: string; token: string }> {
  const created = await send(f, { method: 'POST', path: '/api/v1/auth/tokens', token: f.alice.accessToken, ...json({ name: `ci ${randomUUID().slice(0, 8)}` }) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, token } = created.body as { id: string; token: string };
  const whoami = await send(f, { path: '/api/v1/auth/whoami', token });
  assert.equal(whoami.status, 200, 'a fresh API token must work');
  assert.equal((whoami.body as { username: string }).username, 'alice');
  return { id, token };
}

/** A separate session for alice, so rows that end sessions leave the shared one alone. */
async function freshAliceSession(f: Fixture): Promise<{ accessToken: string; refreshToken: string }> {
  return f.server.client.login('alice', 'alice-password');
}

const refresh = (f: Fixture, refreshToken: string) => send(f, { method: 'POST', path: '/api/v1/auth/refresh', ...json({ refreshToken }) });

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
  name: string;
  /** Run on a server of its own with this config (and seeded unless seed is false). */
  server?: ConfigOverrides;
  seed?: boolean;
  run: (f: Fixture) => Promise<Answer>;
  status: number;
  /** For a refusal: must match the error message. */
  names?: RegExp;
  /** Writes the row makes itself (the objects that existed before must still be unchanged). */
  revisionDelta?: number;
  todo?: string;
}

const rows: Row[] = [
  // -- Who is calling
  { name: 'no token: read', run: (f) => send(f, { path: '/api/v1/namespaces/alice/workloads/web' }), status: 401, names: /a bearer token is required/ },
  { name: 'no token: apply', run: (f) => applyAs(f, undefined, [workload('anonymous', 'alice')]), status: 401, names: /a bearer token is required/ },
  { name: 'malformed Authorization header (Basic)', run: (f) => applyAs(f, undefined, [workload('basic')], { authorization: 'Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=' }), status: 401, names: /must be "Bearer <token>"/ },
  { name: 'malformed Authorization header (Bearer with two values)', run: (f) => applyAs(f, undefined, [workload('two')], { authorization: `Bearer ${f.alice.accessToken} extra` }), status: 401, names: /must be "Bearer <token>"/ },
  { name: 'Authorization header without a scheme', run: (f) => applyAs(f, undefined, [workload('bare')], { authorization: f.alice.accessToken }), status: 401, names: /must be "Bearer <token>"/ },
  { name: 'garbage bearer token', run: (f) => applyAs(f, 'not-a-token', [workload('garbage')]), status: 401, names: /token is malformed/ },
  {
    name: 'JWT signed with a different secret (claiming admin)',
    run: async (f) => {
      const forged = await new SignJWT({ role: 'admin', ns: ['alice', 'bob', 'root-admin'], sid: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('root-admin')
        .setIssuer('lattice')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('not-the-server-secret-but-32-bytes-long'));
      assert.equal((await send(f, { path: '/metrics', token: forged })).status, 401);
      return applyAs(f, forged, [workload('forged', 'alice')]);
    },
    status: 401,
    names: /signature is invalid/,
  },
  {
    name: 'unsigned JWT (alg none)',
    run: (f) => {
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'root-admin', role: 'admin', ns: ['alice'], sid: randomUUID(), iss: 'lattice', exp: 4102444800 })}.`;
      return applyAs(f, token, [workload('unsigned', 'alice')]);
    },
    status: 401,
    names: /token is malformed/,
  },
  { name: 'access token in the query string of a non-watch route', run: (f) => send(f, { method: 'POST', path: `/api/v1/apply?access_token=${f.alice.accessToken}`, ...json([workload('query')]) }), status: 401, names: /a bearer token is required/ },
  {
    name: 'expired access token',
    server: { accessTokenTtlSeconds: 1 },
    seed: false,
    run: async (f) => {
      const { accessToken } = await freshAliceSession(f);
      const { iat, exp } = decodeJwt(accessToken);
      assert.equal(exp! - iat!, 1, 'the server must honour accessTokenTtlSeconds');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      return applyAs(f, accessToken, [workload('late')]);
    },
    status: 401,
    names: /expired/,
  },
  {
    name: 'revoked API token',
    run: async (f) => {
      const { id, token } = await apiToken(f);
      const revoked = await send(f, { method: 'DELETE', path: `/api/v1/auth/tokens/${id}`, token: f.alice.accessToken });
      assert.equal(revoked.status, 204);
      assert.equal((await send(f, { path: '/api/v1/auth/whoami', token })).status, 401);
      return applyAs(f, token, [workload('revoked')]);
    },
    status: 401,
    names: /API token has been revoked/,
  },
  {
    name: 'API token with a wrong secret part',
    run: async (f) => {
      const { token } = await apiToken(f);
      const [idPart] = token.split('.');
      return applyAs(f, `${idPart}.${'A'.repeat(43)}`, [workload('wrong-secret')]);
    },
    status: 401,
    names: /API token is not valid/,
  },
  {
    name: "bob cannot revoke alice's API token",
    run: async (f) => {
      const { id, token } = await apiToken(f);
      const answer = await send(f, { method: 'DELETE', path: `/api/v1/auth/tokens/${id}`, token: f.bob.accessToken });
      assert.equal((await send(f, { path: '/api/v1/auth/whoami', token })).status, 200, "alice's token must still work");
      return answer;
    },
    status: 404,
    names: /not found/,
  },

  // -- Bob in alice's namespace
  { name: "bob reads alice's workload", run: (f) => send(f, { path: '/api/v1/namespaces/alice/workloads/web', token: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  { name: "bob lists alice's workloads", run: (f) => send(f, { path: '/api/v1/namespaces/alice/workloads', token: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  {
    name: "bob's cluster-wide lists hold none of alice's objects",
    run: async (f) => {
      let last: Answer | undefined;
      for (const plural of ['workloads', 'secrets', 'events', 'instances']) {
        last = await send(f, { path: `/api/v1/${plural}`, token: f.bob.accessToken });
        assert.equal(last.status, 200);
        const items = (last.body as { items: StoredObject[] }).items;
        assert.deepEqual(items.filter((o) => o.metadata.namespace !== 'bob'), [], `/api/v1/${plural} leaked`);
      }
      return last!;
    },
    status: 200,
  },
  { name: "bob applies into alice's namespace", run: (f) => applyAs(f, f.bob.accessToken, [workload('web', 'alice')]), status: 403, names: /may not write to namespace "alice"/ },
  {
    name: "bob PUTs alice's workload",
    run: async (f) => {
      const web = await aliceWeb(f);
      return send(f, { method: 'PUT', path: '/api/v1/namespaces/alice/workloads/web', token: f.bob.accessToken, ...json({ ...web, spec: { ...(web.spec as object), replicas: 0 } }) });
    },
    status: 403,
    names: /no access to namespace "alice"/,
  },
  { name: "bob deletes alice's workload", run: (f) => send(f, { method: 'DELETE', path: '/api/v1/namespaces/alice/workloads/web', token: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  { name: "bob deletes alice's secret", run: (f) => send(f, { method: 'DELETE', path: '/api/v1/namespaces/alice/secrets/db', token: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  { name: "bob watches namespace alice (token in header)", run: (f) => refusedWatch(f, 'namespace=alice&kind=Workload', { header: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  { name: "bob watches namespace alice (token in query)", run: (f) => refusedWatch(f, 'namespace=alice', { queryToken: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  { name: 'a watch without a token is refused', run: (f) => refusedWatch(f, 'kind=Workload', {}), status: 401, names: /a bearer token is required/ },
  { name: "bob's Workload watch never delivers alice's objects", run: (f) => bobWatchesWhileAliceWrites(f, { kind: 'Workload' }, 'kind'), status: 101, revisionDelta: 4 },
  { name: "bob's watch of every kind never delivers alice's objects", run: (f) => bobWatchesWhileAliceWrites(f, {}, 'all'), status: 101, revisionDelta: 4 },

  // -- Secrets
  { name: "bob reads alice's secret values", run: (f) => send(f, { path: '/api/v1/namespaces/alice/secrets/db?showSecrets=true', token: f.bob.accessToken }), status: 403, names: /no access to namespace "alice"/ },
  {
    name: 'alice reads her secret: values redacted',
    run: async (f) => {
      const answer = await send(f, { path: '/api/v1/namespaces/alice/secrets/db', token: f.alice.accessToken });
      assertRedacted(answer.body as StoredObject);
      return answer;
    },
    status: 200,
  },
  {
    name: 'alice reads her secret with ?showSecrets=true: real values',
    run: async (f) => {
      const answer = await send(f, { path: '/api/v1/namespaces/alice/secrets/db?showSecrets=true', token: f.alice.accessToken });
      assert.deepEqual((answer.body as StoredObject).spec, { data: { password: PASSWORD } });
      return answer;
    },
    status: 200,
  },
  {
    name: 'secrets are redacted in lists',
    run: async (f) => {
      let last: Answer | undefined;
      for (const path of ['/api/v1/namespaces/alice/secrets', '/api/v1/secrets']) {
        last = await send(f, { path, token: f.alice.accessToken });
        assert.equal(last.status, 200);
        const items = (last.body as { items: StoredObject[] }).items;
        assert.ok(items.some((o) => o.metadata.name === 'db'), `${path} must list db`);
        items.forEach(assertRedacted);
        assert.doesNotMatch(JSON.stringify(last.body), new RegExp(PASSWORD));
      }
      return last!;
    },
    status: 200,
  },
  {
    name: 'secrets are redacted in watch events',
    run: async (f) => {
      const watch = new WatchReader(f.alice.client.watch({ kind: 'Secret' }));
      const apiKey = (value: string) => ({ ...SECRET, metadata: { name: 'api-key' }, spec: { data: { password: value } } });
      let messages: WatchMessage[];
      try {
        await watch.until(sees('alice', 'db')); // listed: the watch is live from here on
        await f.alice.client.apply([apiKey('first-api-key-value')]);
        await f.alice.client.apply([apiKey('second-api-key-value')]);
        messages = await watch.until((seen) => objectsOf(seen).some((m) => m.type === 'MODIFIED' && m.object.metadata.name === 'api-key'));
      } finally {
        watch.close();
      }
      assert.ok(objectsOf(messages).some((m) => m.type === 'ADDED' && m.object.metadata.name === 'api-key'), 'the new secret must arrive as ADDED');
      objectsOf(messages).forEach((m) => assertRedacted(m.object as StoredObject));
      assert.doesNotMatch(JSON.stringify(messages), new RegExp(`first-api-key-value|second-api-key-value|${PASSWORD}`));
      return { status: 101, body: messages };
    },
    status: 101,
    revisionDelta: 2,
  },
  {
    name: 'a dry-run diff of a secret shows no values',
    run: async (f) => {
      const answer = await send(f, { method: 'POST', path: '/api/v1/apply?dryRun=true', token: f.alice.accessToken, ...json([{ ...SECRET, spec: { data: { password: 'a-new-password-value', user: 'root-user-value' } } }]) });
      assert.equal((answer.body as { results: { action: string }[] }).results[0]?.action, 'configured');
      assert.doesNotMatch(JSON.stringify(answer.body), /hunter2|a-new-password-value|root-user-value/);
      return answer;
    },
    status: 200,
  },

  // -- Status and metrics
  { name: 'a user PUTs .../status', run: (f) => send(f, { method: 'PUT', path: '/api/v1/namespaces/alice/workloads/web/status', token: f.alice.accessToken, ...json({ status: { readyReplicas: 99 } }) }), status: 403, names: /status is written by the reconciler/ },
  { name: 'a non-admin reads /metrics', run: (f) => send(f, { path: '/metrics', token: f.alice.accessToken }), status: 403, names: /metrics are for admins/ },
  { name: 'an anonymous caller reads /metrics', run: (f) => send(f, { path: '/metrics' }), status: 401, names: /a bearer token is required/ },
  {
    name: 'the admin reads /metrics as Prometheus text',
    run: async (f) => {
      const answer = await send(f, { path: '/metrics', token: f.adminToken });
      assert.match(answer.headers?.get('content-type') ?? '', /^text\/plain/);
      const text = answer.body as string;
      assert.match(text, /^# TYPE lattice_http_requests_total counter$/m);
      assert.match(text, /^lattice_http_requests_total\{.*\} \d+$/m);
      assert.match(text, new RegExp(`^lattice_store_revision ${await f.server.app.store.currentRevision()}$`, 'm'));
      return answer;
    },
    status: 200,
  },

  // -- Sessions
  {
    name: 'after logout the refresh token and the access token are refused',
    run: async (f) => {
      const session = await freshAliceSession(f);
      const logout = await send(f, { method: 'POST', path: '/api/v1/auth/logout', token: session.accessToken, ...json({ refreshToken: session.refreshToken }) });
      assert.equal(logout.status, 204);
      const refreshed = await refresh(f, session.refreshToken);
      assert.equal(refreshed.status, 401, JSON.stringify(refreshed.body));
      return applyAs(f, session.accessToken, [workload('after-logout')]);
    },
    status: 401,
    names: /session has been revoked/,
  },
  {
    name: 'reusing a rotated refresh token revokes the whole session',
    run: async (f) => {
      const session = await freshAliceSession(f);
      const rotated = await refresh(f, session.refreshToken);
      assert.equal(rotated.status, 200);
      const second = rotated.body as { accessToken: string; refreshToken: string };
      const reuse = await refresh(f, session.refreshToken);
      assert.equal(reuse.status, 401);
      assert.match((reuse.body as { message: string }).message, /already used/);
      const family = await refresh(f, second.refreshToken);
      assert.equal(family.status, 401, 'the rotated refresh token must be revoked with its session');
      return applyAs(f, second.accessToken, [workload('after-reuse')]);
    },
    status: 401,
    names: /session has been revoked/,
  },
  {
    name: 'more than 10 failed logins for one user are rate limited, even with the right password',
    server: {},
    seed: false,
    run: async (f) => {
      const login = (password: string) => send(f, { method: 'POST', path: '/api/v1/auth/login', ...json({ username: 'alice', password }) });
      for (let i = 1; i <= 10; i++) assert.equal((await login(`wrong-password-${i}`)).status, 401, `failure ${i}`);
      const limited = await login('wrong-password-11');
      assert.equal(limited.status, 429);
      const retryAfter = Number(limited.headers?.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `retry-after: ${limited.headers?.get('retry-after')}`);
      const right = await login('alice-password');
      assert.ok(right.headers?.get('retry-after'));
      assert.equal((await f.server.client.login('bob', 'bob-password')).tokenType, 'Bearer', 'another user is not limited');
      return right;
    },
    status: 429,
    names: /too many login attempts/,
  },
  {
    name: "a guesser at one address never locks the user out at another; guessing from many addresses meets a slower per-user limit",
    server: {},
    seed: false,
    run: async (f) => {
      const login = (from: string, password: string) => loginFrom(f.server.url, from, 'alice', password);
      for (let i = 1; i <= 10; i++) assert.equal((await login('127.0.0.2', `wrong-password-${i}`)).status, 401, `failure ${i}`);
      assert.equal((await login('127.0.0.2', 'alice-password')).status, 429, 'the guessing address is stopped, even with the right password');
      assert.equal((await login('127.0.0.1', 'alice-password')).status, 200, 'alice at her own address logs in');
      // 100 failures spread over ten addresses: every address is now stopped for alice, a new one too.
      for (let a = 3; a <= 11; a++) for (let i = 1; i <= 10; i++) assert.equal((await login(`127.0.0.${a}`, `wrong-${i}`)).status, 401, `127.0.0.${a} failure ${i}`);
      assert.equal((await login('127.0.0.12', 'wrong-again')).status, 429, 'the per-user limit over every address');
      assert.equal((await loginFrom(f.server.url, '127.0.0.12', 'bob', 'bob-password')).status, 200, 'another user is not limited');
      return login('127.0.0.1', 'alice-password');
    },
    status: 429,
    names: /too many login attempts/,
  },

  // -- Response headers and CORS
  {
    name: 'security headers on a normal answer',
    run: async (f) => {
      const answer = await send(f, { path: '/api/v1/auth/whoami', token: f.alice.accessToken });
      assertSecurityHeaders(answer.headers);
      return answer;
    },
    status: 200,
  },
  {
    name: 'security headers on a 404',
    run: async (f) => {
      const answer = await send(f, { path: '/api/v1/no-such-route/at/all', token: f.alice.accessToken });
      assertSecurityHeaders(answer.headers);
      return answer;
    },
    status: 404,
    names: /no route GET \/api\/v1\/no-such-route\/at\/all/,
  },
  {
    name: 'security headers on a 401',
    run: async (f) => {
      const answer = await send(f, { path: '/api/v1/auth/whoami' });
      assertSecurityHeaders(answer.headers);
      return answer;
    },
    status: 401,
    names: /a bearer token is required/,
  },
  {
    name: 'CORS: no allowed origin by default',
    run: async (f) => {
      const origin = { origin: 'http://evil.example' };
      const get = await send(f, { path: '/healthz', headers: origin });
      assert.equal(get.status, 200);
      assert.equal(get.headers?.get('access-control-allow-origin'), null);
      const preflight = await send(f, { method: 'OPTIONS', path: '/api/v1/apply', headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
      assert.equal(preflight.headers?.get('access-control-allow-origin'), null);
      assert.equal(preflight.headers?.get('access-control-allow-methods'), null);
      return preflight;
    },
    status: 401,
    names: /a bearer token is required/,
  },
  {
    name: 'CORS: a configured origin gets its preflight, no other origin does',
    server: { corsOrigins: ['http://ui.example'] },
    run: async (f) => {
      const preflight = (origin: string) =>
        send(f, { method: 'OPTIONS', path: '/api/v1/apply', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
      const evil = await preflight('http://evil.example');
      assert.notEqual(evil.status, 204);
      assert.equal(evil.headers?.get('access-control-allow-origin'), null);
      const ui = await preflight('http://ui.example');
      assert.equal(ui.headers?.get('access-control-allow-origin'), 'http://ui.example');
      assert.match(ui.headers?.get('access-control-allow-methods') ?? '', /\bPOST\b/);
      assert.match(ui.headers?.get('access-control-allow-headers') ?? '', /\bauthorization\b/);
      assert.match(ui.headers?.get('vary') ?? '', /Origin/);
      assertSecurityHeaders(ui.headers);
      return ui;
    },
    status: 204,
  },
];

// ---------------------------------------------------------------------------------------------

interface Snapshot {
  revision: number;
  objects: Map<string, StoredObject>;
}

async function snapshot(f: Fixture): Promise<Snapshot> {
  const store = f.server.app.store;
  const revision = await store.currentRevision();
  const objects = new Map<string, StoredObject>();
  for (const kind of ['Workload', 'Secret', 'Instance', 'Agent']) {
    for (const object of (await store.list({ kind })).items) objects.set(`${kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`, object);
  }
  return { revision, objects };
}

function assertErrorBody(body: unknown, status: number, names: RegExp | undefined): void {
  assert.ok(body !== null && typeof body === 'object', `expected a JSON error body, got ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message', 'reason']);
  const { code, message, details } = body as { code: unknown; message: unknown; details: unknown };
  assert.equal(code, status);
  assert.equal(typeof message, 'string');
  assert.ok(Array.isArray(details));
  if (names) assert.match(message as string, names);
}

for (const row of rows) {
  test(row.name, { todo: row.todo }, async (t) => {
    const f = row.server ? await startFixture(t, row.server, row.seed ?? true) : shared;
    const before = await snapshot(f);
    const answer = await row.run(f);
    assert.ok(answer.status < 500, `never a ${answer.status}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.status, row.status, `expected ${row.status}, got ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
    if (row.status >= 400) assertErrorBody(answer.body, row.status, row.names);
    const afterwards = await snapshot(f);
    assert.equal(afterwards.revision, before.revision + (row.revisionDelta ?? 0), 'store revision');
    for (const [id, object] of before.objects) assert.deepEqual(afterwards.objects.get(id), object, `${id} must be unchanged`);
    if (!row.revisionDelta) assert.deepEqual([...afterwards.objects.keys()], [...before.objects.keys()], 'no object may appear');
  });
}
