// Hostile requests against the real server: every row is refused with the exact 4xx it deserves,
// an error body of the catalogue shape that names the problem, and no change to the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { StoredObject } from '../../store/types.ts';
import { rawRequest, startTestServer, type TestServer } from '../support/server.ts';

// ---------------------------------------------------------------------------------------------
// One server for the whole file: alice owns namespace alice and has applied examples/web.yaml.

const WEB_YAML = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8');

interface Fixture {
  server: TestServer;
  token: string;
  /** alice/web as it is after setup (PUT rows send it back with changes). */
  web: StoredObject;
}

const cleanups: (() => Promise<void> | void)[] = [];
let fixture: Fixture;

before(async () => {
  const server = await startTestServer({ after: (fn) => cleanups.push(fn) });
  const alice = await server.user('alice');
  await alice.client.apply(WEB_YAML);
  const web = await server.app.store.get({ kind: 'Workload', namespace: 'alice', name: 'web' });
  fixture = { server, token: alice.accessToken, web };
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

// ---------------------------------------------------------------------------------------------
// Sending: plain HTTP, or a WebSocket upgrade of /api/v1/watch.

interface Answer {
  status: number;
  body: unknown;
  /** http: a plain answer; upgrade: the refused upgrade's answer; message: an in-band watch ERROR. */
  via: 'http' | 'upgrade' | 'message';
}

type Send = (f: Fixture) => Promise<Answer>;

function http(init: { method?: string; path: string; contentType?: string; body?: string | Buffer | (() => string | Buffer) }): Send {
  return async (f) => {
    const body = typeof init.body === 'function' ? init.body() : init.body;
    const { status, body: answer } = await rawRequest(f.server.url, { ...init, body, token: f.token });
    return { status, body: answer, via: 'http' };
  };
}

const apply = (body: string | Buffer | (() => string | Buffer), contentType = 'application/json', query = '') =>
  http({ method: 'POST', path: `/api/v1/apply${query}`, contentType, body });
const applyYaml = (body: string | (() => string), query = '') => apply(body, 'application/yaml', query);

/** PUT of alice/web as read, changed by edit. */
const putWeb = (edit: (web: StoredObject) => unknown, path = '/api/v1/namespaces/alice/workloads/web'): Send => (f) =>
  http({ method: 'PUT', path, contentType: 'application/json', body: JSON.stringify(edit(structuredClone(f.web))) })(f);

/**
 * Opens a watch with the token in the Authorization header. A refused upgrade answers with its
 * HTTP status; an accepted one with its first message if that is an ERROR (else status 101).
 */
function watch(query: string): Send {
  return (f) =>
    new Promise<Answer>((resolve, reject) => {
      const socket = new WebSocket(`${f.server.url.replace(/^http/, 'ws')}/api/v1/watch?${query}`, { headers: { authorization: `Bearer ${f.token}` } });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`watch ?${query}: no answer within 5 s`));
      }, 5000);
      const done = (answer: Answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      socket.on('unexpected-response', (_request, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          socket.terminate();
          done({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown, via: 'upgrade' });
        });
      });
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; object: { code?: number } };
        socket.close();
        done(message.type === 'ERROR' ? { status: message.object.code ?? 0, body: message.object, via: 'message' } : { status: 101, body: message, via: 'message' });
      });
      socket.on('error', () => {}); // 'unexpected-response' or the timeout reports
    });
}

// ---------------------------------------------------------------------------------------------
// Hostile bodies

const workload = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'hostile' }, spec: { image: 'nginx:1' }, ...overrides });

const DEPTH = 10_000;
const deepJsonArray = () => '['.repeat(DEPTH) + ']'.repeat(DEPTH);
const deepJsonObject = () => '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
const deepYaml = (depth: number) => () => `apiVersion: lattice/v1\nkind: Workload\nmetadata:\n  name: deep\nspec: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;

// Nine levels of nine: 387,420,489 strings if expanded.
const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

const TEN_MB = () => JSON.stringify({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'huge' }, spec: { image: 'x'.repeat(10 * 1024 * 1024) } });

/** Moves alice/web on (once), so the resourceVersion the fixture read is stale. */
async function moveWeb(f: Fixture): Promise<void> {
  const live = await f.server.app.store.get({ kind: 'Workload', namespace: 'alice', name: 'web' });
  if (live.metadata.resourceVersion !== f.web.metadata.resourceVersion) return;
  await f.server.app.store.update({ ...live, metadata: { ...live.metadata, labels: { app: 'web', moved: 'yes' } } });
}

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
  name: string;
  send: Send;
  status: number;
  reason: string;
  /** Must match the message or one of details[].path. */
  names: RegExp;
  /** Runs before the revision is read (e.g. writes and compacts for the compaction row). */
  setup?: (f: Fixture) => Promise<void>;
  /** Extra checks after the answer. */
  check?: (f: Fixture, answer: Answer) => Promise<void>;
  todo?: string;
}

const rows: Row[] = [
  // -- YAML that does not parse
  { name: 'broken YAML (unclosed flow sequence)', send: applyYaml('apiVersion: lattice/v1\nkind: [Workload\nmetadata:\n  name: x\n'), status: 400, reason: 'BadRequest', names: /YAML document 1: .*flow sequence/i },
  { name: 'YAML indented with a tab', send: applyYaml('apiVersion: lattice/v1\nkind: Workload\nmetadata:\n\tname: x\nspec:\n  image: nginx\n'), status: 400, reason: 'BadRequest', names: /tabs? .*indentation.*line 4/i },
  { name: 'YAML with a bad indent', send: applyYaml('apiVersion: lattice/v1\nkind: Workload\nmetadata:\n  name: x\n   namespace: alice\nspec:\n  image: nginx\n'), status: 400, reason: 'BadRequest', names: /YAML document 1: .* at line \d+, column \d+/ },
  { name: 'duplicate JSON keys (refused like YAML, never "last one wins")', send: apply('{"apiVersion":"lattice/v1","kind":"Workload","metadata":{"name":"dup"},"spec":{"command":["a"],"replicas":1,"replicas":900}}'), status: 400, reason: 'BadRequest', names: /repeats the key spec\.replicas/ },
  { name: 'duplicate JSON keys, one of them escaped', send: http({ method: 'POST', path: '/api/v1/auth/join-tokens', contentType: 'application/json', body: '{"expiresInHours":1,"expiresIn\\u0048ours":2}' }), status: 400, reason: 'BadRequest', names: /repeats the key expiresInHours/ },
  { name: 'duplicate YAML keys', send: applyYaml('apiVersion: lattice/v1\nkind: Workload\nkind: Agent\nmetadata:\n  name: x\nspec: {}\n'), status: 400, reason: 'BadRequest', names: /keys must be unique/i },
  { name: 'YAML alias bomb (billion laughs)', send: applyYaml(BILLION_LAUGHS), status: 400, reason: 'BadRequest', names: /too many aliases \(at most 100\)/ },
  { name: 'YAML __proto__ key', send: applyYaml('apiVersion: lattice/v1\nkind: Workload\nmetadata:\n  name: x\n  __proto__:\n    polluted: true\nspec:\n  image: nginx\n'), status: 400, reason: 'BadRequest', names: /forbidden key "__proto__"/ },
  { name: 'YAML nested 100 levels (over the limit of 64)', send: applyYaml(deepYaml(100)), status: 400, reason: 'BadRequest', names: /nests deeper than 64 levels/ },
  {
    name: 'YAML nested 10,000 levels',
    send: applyYaml(deepYaml(DEPTH)),
    status: 400,
    reason: 'BadRequest',
    names: /nests (too )?deep.*64/,
  },

  // -- JSON that must not be parsed into objects
  { name: 'JSON __proto__ key', send: apply('{"apiVersion":"lattice/v1","kind":"Workload","metadata":{"name":"x"},"spec":{"image":"nginx","__proto__":{"polluted":true}}}'), status: 400, reason: 'BadRequest', names: /forbidden prototype property/ },
  { name: 'JSON constructor.prototype', send: apply('{"apiVersion":"lattice/v1","kind":"Workload","metadata":{"name":"x","constructor":{"prototype":{"polluted":true}}},"spec":{"image":"nginx"}}'), status: 400, reason: 'BadRequest', names: /forbidden prototype property/ },
  { name: 'JSON array nested 10,000 levels', send: apply(deepJsonArray), status: 400, reason: 'BadRequest', names: /nests deeper than 64 levels/ },
  { name: 'JSON object nested 10,000 levels', send: apply(deepJsonObject), status: 400, reason: 'BadRequest', names: /nests deeper than 64 levels/ },
  { name: 'non-UTF-8 bytes as JSON', send: apply(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])), status: 400, reason: 'BadRequest', names: /not valid UTF-8/ },
  { name: 'non-UTF-8 bytes as YAML', send: apply(Buffer.concat([Buffer.from('apiVersion: lattice/v1\nkind: '), Buffer.from([0xff, 0xfe])]), 'application/yaml'), status: 400, reason: 'BadRequest', names: /not valid UTF-8/ },
  { name: 'YAML sent as JSON', send: apply('apiVersion: lattice/v1\nkind: Workload\n'), status: 400, reason: 'BadRequest', names: /not valid JSON/ },

  // -- Sizes and media types
  { name: '10 MB body (limit 4 MiB)', send: apply(TEN_MB), status: 413, reason: 'PayloadTooLarge', names: /exceeds the limit of 4 MiB/ },
  { name: 'text/plain body', send: apply('apiVersion: lattice/v1', 'text/plain'), status: 415, reason: 'UnsupportedMediaType', names: /unsupported Content-Type/ },

  // -- Bodies with nothing to apply
  { name: 'empty body, no Content-Type', send: http({ method: 'POST', path: '/api/v1/apply' }), status: 400, reason: 'BadRequest', names: /send the manifests as the body/ },
  { name: 'empty JSON body', send: apply(''), status: 400, reason: 'BadRequest', names: /not valid JSON|JSON body is empty/ },
  { name: 'empty YAML body', send: applyYaml(''), status: 400, reason: 'BadRequest', names: /nothing to apply/ },
  { name: 'YAML body with only ---', send: applyYaml('---\n'), status: 400, reason: 'BadRequest', names: /nothing to apply/ },
  { name: 'JSON null', send: apply('null'), status: 400, reason: 'BadRequest', names: /send the manifests as the body/ },
  { name: 'JSON empty array', send: apply('[]'), status: 400, reason: 'BadRequest', names: /nothing to apply/ },
  { name: 'JSON array of strings', send: apply('["web","db"]'), status: 422, reason: 'Invalid', names: /^\[1\]$/ },
  { name: 'JSON List without items', send: apply('{"apiVersion":"lattice/v1","kind":"List"}'), status: 400, reason: 'BadRequest', names: /^items$/ },

  // -- Manifests that do not validate
  { name: 'wrong type (replicas "three")', send: apply(workload({ spec: { image: 'nginx', replicas: 'three' } })), status: 422, reason: 'Invalid', names: /^spec\.replicas$/ },
  { name: 'unknown kind', send: apply(workload({ kind: 'Gizmo' })), status: 422, reason: 'Invalid', names: /unknown kind "Gizmo"/ },
  { name: 'wrong apiVersion', send: apply(workload({ apiVersion: 'apps/v1' })), status: 422, reason: 'Invalid', names: /unknown apiVersion "apps\/v1"/ },
  { name: 'missing metadata.name', send: apply(workload({ metadata: { labels: { app: 'x' } } })), status: 422, reason: 'Invalid', names: /^metadata\.name$/ },
  { name: 'missing metadata', send: apply(JSON.stringify({ apiVersion: 'lattice/v1', kind: 'Workload', spec: { image: 'nginx' } })), status: 422, reason: 'Invalid', names: /^metadata$/ },
  { name: 'YAML constructor.prototype is an unknown field', send: applyYaml('apiVersion: lattice/v1\nkind: Workload\nmetadata:\n  name: x\n  constructor:\n    prototype:\n      polluted: true\nspec:\n  image: nginx\n'), status: 422, reason: 'Invalid', names: /^metadata\.constructor$/ },
  { name: 'the same object twice in one apply', send: apply(`[${workload()},${workload()}]`), status: 422, reason: 'Invalid', names: /appears twice in this apply/ },
  {
    name: 'valid and invalid documents in one apply write nothing',
    send: applyYaml(`${WEB_YAML.replace(/name: web\n/, 'name: web-copy\n')}---\n${'apiVersion: lattice/v1\nkind: Workload\nmetadata:\n  name: broken\nspec:\n  image: nginx\n  replicas: three\n'}`),
    status: 422,
    reason: 'Invalid',
    names: /^\[1\]\.spec\.replicas$/,
    check: async (f) => {
      const { items } = await f.server.app.store.list({ kind: 'Workload', namespace: 'alice' });
      assert.deepEqual(items.map((o) => o.metadata.name), ['web'], 'the valid document must not have been applied');
    },
  },

  // -- Kinds and namespaces alice may not write
  { name: 'apply of kind Instance', send: apply(JSON.stringify({ apiVersion: 'lattice/v1', kind: 'Instance', metadata: { name: 'web-0' }, spec: { workload: 'web', templateHash: 'abc123', template: { image: 'nginx:1' } } })), status: 403, reason: 'Forbidden', names: /Instances are written by the control plane/ },
  { name: 'apply of kind Event', send: apply(JSON.stringify({ apiVersion: 'lattice/v1', kind: 'Event', metadata: { name: 'web-scheduled' }, spec: { involvedObject: { kind: 'Workload', name: 'web' }, reason: 'Scheduled' } })), status: 403, reason: 'Forbidden', names: /Events are written by the control plane/ },
  { name: 'apply of kind Agent by a non-admin', send: apply(JSON.stringify({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'node-1' }, spec: {} })), status: 403, reason: 'Forbidden', names: /only an admin may change them/ },
  { name: "apply into another user's namespace", send: apply(workload({ metadata: { name: 'x', namespace: 'bob' } })), status: 403, reason: 'Forbidden', names: /may not write to namespace "bob"/ },

  // -- Query strings
  { name: 'apply ?ifRevision=abc', send: apply(workload(), 'application/json', '?ifRevision=abc'), status: 400, reason: 'BadRequest', names: /^querystring\.ifRevision$/ },
  { name: 'apply ?applySet=Bad_Name', send: apply(workload(), 'application/json', '?applySet=Bad_Name'), status: 400, reason: 'BadRequest', names: /^querystring\.applySet$/ },
  { name: 'apply ?prune=true without applySet', send: apply(workload(), 'application/json', '?prune=true'), status: 400, reason: 'BadRequest', names: /prune needs an applySet/ },
  { name: 'apply with an unknown query parameter', send: apply(workload(), 'application/json', '?force=true'), status: 400, reason: 'BadRequest', names: /unknown field "force"/ },

  // -- PUT
  { name: 'PUT without metadata.resourceVersion', send: putWeb((web) => ({ ...web, metadata: { name: 'web' }, spec: { ...(web.spec as object), replicas: 5 } })), status: 422, reason: 'Invalid', names: /^metadata\.resourceVersion$/ },
  { name: 'PUT whose name mismatches the URL', send: putWeb((web) => ({ ...web, metadata: { ...web.metadata, name: 'other' } })), status: 422, reason: 'Invalid', names: /^metadata\.name$/ },
  { name: 'PUT whose kind mismatches the URL', send: putWeb((web) => web, '/api/v1/namespaces/alice/secrets/web'), status: 422, reason: 'Invalid', names: /^kind$/ },
  {
    name: 'PUT with a stale resourceVersion',
    setup: moveWeb,
    send: putWeb((web) => ({ ...web, spec: { ...(web.spec as object), replicas: 7 } })),
    status: 409,
    reason: 'Conflict',
    names: new RegExp(`resourceVersion is \\d+, not \\d+`),
  },
  { name: 'PUT of a JSON null', send: http({ method: 'PUT', path: '/api/v1/namespaces/alice/workloads/web', contentType: 'application/json', body: 'null' }), status: 422, reason: 'Invalid', names: /must be an object/ },
  { name: 'PUT .../status by a user', send: http({ method: 'PUT', path: '/api/v1/namespaces/alice/workloads/web/status', contentType: 'application/json', body: '{"status":{}}' }), status: 403, reason: 'Forbidden', names: /status is written by the reconciler/ },

  // -- Reads
  {
    name: 'list with an invalid labelSelector (app in ()',
    send: http({ path: `/api/v1/namespaces/alice/workloads?labelSelector=${encodeURIComponent('app in (')}` }),
    status: 400,
    reason: 'BadRequest',
    names: /^labelSelector$/,
  },
  { name: 'list with a fieldSelector on workloads', send: http({ path: '/api/v1/namespaces/alice/workloads?fieldSelector=involvedObject.name%3Dweb' }), status: 400, reason: 'BadRequest', names: /fieldSelector is supported for events only/ },
  { name: 'unknown plural', send: http({ path: '/api/v1/namespaces/alice/gizmos' }), status: 404, reason: 'NotFound', names: /unknown resource type "gizmos"/ },
  { name: 'unknown plural, cluster-wide', send: http({ path: '/api/v1/gizmos' }), status: 404, reason: 'NotFound', names: /unknown resource type "gizmos"/ },
  { name: 'namespace that is not a DNS label', send: http({ path: '/api/v1/namespaces/Alice_NS/workloads' }), status: 400, reason: 'BadRequest', names: /^params\.namespace$/ },
  { name: 'GET in another namespace', send: http({ path: '/api/v1/namespaces/bob/workloads/web' }), status: 403, reason: 'Forbidden', names: /no access to namespace "bob"/ },
  { name: 'GET of an object that does not exist', send: http({ path: '/api/v1/namespaces/alice/workloads/nope' }), status: 404, reason: 'NotFound', names: /Workload alice\/nope not found/ },
  { name: 'DELETE ?resourceVersion=abc', send: http({ method: 'DELETE', path: '/api/v1/namespaces/alice/workloads/web?resourceVersion=abc' }), status: 400, reason: 'BadRequest', names: /^querystring\.resourceVersion$/ },
  { name: 'DELETE with a stale resourceVersion', setup: moveWeb, send: http({ method: 'DELETE', path: '/api/v1/namespaces/alice/workloads/web?resourceVersion=1' }), status: 409, reason: 'Conflict', names: /resourceVersion is \d+, not 1;/ },

  // -- Watch
  {
    name: 'watch with an invalid labelSelector (app in ()',
    send: watch(`kind=Workload&labelSelector=${encodeURIComponent('app in (')}`),
    status: 400,
    reason: 'BadRequest',
    names: /^labelSelector$/,
  },
  { name: 'watch of an unknown kind', send: watch('kind=Gizmo'), status: 400, reason: 'BadRequest', names: /unknown kind "Gizmo"/ },
  { name: 'watch ?resourceVersion=abc', send: watch('resourceVersion=abc'), status: 400, reason: 'BadRequest', names: /^querystring\.resourceVersion$/ },
  {
    // The server may refuse the upgrade with 410, or (as it does since watch-routes.ts made a
    // browser-readable choice) upgrade and send an ERROR message with code 410 before anything else.
    name: 'watch from a compacted resourceVersion',
    setup: async (f) => {
      const alice = f.server.client.withToken(f.token);
      for (const name of ['compact-a', 'compact-b', 'compact-c']) await alice.apply(WEB_YAML.replace(/name: web\n/, `name: ${name}\n`));
      await f.server.app.store.compact((await f.server.app.store.currentRevision()) - 1);
    },
    send: watch('kind=Workload&resourceVersion=1'),
    status: 410,
    reason: 'Gone',
    names: /compacted/,
  },
];

// ---------------------------------------------------------------------------------------------

function assertErrorBody(answer: Answer, row: Row): void {
  const body = answer.body as { code?: unknown; reason?: unknown; message?: unknown; details?: unknown };
  assert.ok(body !== null && typeof body === 'object', `expected a JSON error body, got ${JSON.stringify(answer.body)}`);
  // An in-band watch ERROR carries {code, reason, message} (schemas/api.schema.json WatchMessage).
  const keys = answer.via === 'message' ? ['code', 'message', 'reason'] : ['code', 'details', 'message', 'reason'];
  assert.deepEqual(Object.keys(body).sort(), keys, `error body keys: ${JSON.stringify(body)}`);
  assert.equal(body.code, row.status);
  assert.equal(body.reason, row.reason);
  assert.equal(typeof body.message, 'string');
  assert.notEqual(body.message, '');
  const details = (body.details ?? []) as { path?: unknown; message?: unknown }[];
  assert.ok(Array.isArray(details));
  for (const d of details) assert.ok(typeof d.path === 'string' && typeof d.message === 'string', `malformed detail ${JSON.stringify(d)}`);
  const named = [body.message as string, ...details.map((d) => d.path as string)];
  assert.ok(
    named.some((text) => row.names.test(text)),
    `expected the message or a details[].path to match ${row.names}, got ${JSON.stringify({ message: body.message, paths: details.map((d) => d.path) })}`,
  );
}

for (const row of rows) {
  test(row.name, { todo: row.todo }, async () => {
    const f = fixture;
    await row.setup?.(f);
    const store = f.server.app.store;
    const before = await store.currentRevision();
    const answer = await row.send(f);
    assert.ok(answer.status < 500, `a hostile request must never cause a ${answer.status}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.status, row.status, `expected ${row.status}, got ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
    assertErrorBody(answer, row);
    await row.check?.(f, answer);
    assert.equal(await store.currentRevision(), before, 'the store revision must not change');
  });
}

test('the table has at least 30 rows', () => {
  assert.ok(rows.length >= 30, `${rows.length} rows`);
});
