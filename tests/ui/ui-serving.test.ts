// The control plane serves the built UI at `/` (files by path, any other path outside /api as
// index.html) while /api/v1 stays as it was; without a build it says how to make one. Vite
// builds it (ensureUiBuilt: when missing or stale; tests/e2e/up.test.ts sees `lattice up` serve it).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { resolveConfig } from '../../controlplane/config.ts';
import '../../controlplane/fastify-types.ts';
import { errorAnswersPlugin } from '../../controlplane/plugins/error-answers.ts';
import { uiStaticPlugin } from '../../controlplane/plugins/ui-static.ts';
import { UI_DIST } from '../../schemas/ui-location.ts';
import { ensureUiBuilt, isUiFresh } from '../../ui/build.ts';
import { rawRequest, startTestServer } from '../support/server.ts';

test('the UI at / and at every view path; its files by path; /api untouched', async (t) => {
  await ensureUiBuilt();
  const server = await startTestServer(t);
  const { accessToken } = await server.user('alice');
  const index = readFileSync(join(UI_DIST, 'index.html'), 'utf8');
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
  assert.ok(script, 'index.html loads a bundled script');

  for (const path of ['/', '/workloads', '/workloads/alice/web', '/agents', '/events?x=1', '/apix']) {
    const answer = await rawRequest(server.url, { path });
    assert.equal(answer.status, 200, path);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/html/, path);
    assert.equal(answer.body, index, `${path} is index.html`);
    assert.match(answer.headers.get('content-security-policy') ?? '', /default-src 'self'/, 'the security headers hold for the UI too');
  }
  const js = await rawRequest(server.url, { path: script });
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.match(String(js.body), /lattice-app/);
  assert.equal((await rawRequest(server.url, { path: '/favicon.svg' })).headers.get('content-type'), 'image/svg+xml');
  assert.equal((await fetch(`${server.url}/`, { method: 'HEAD' })).status, 200);

  const refusals: { path: string; method?: string; token?: string; status: number; message: RegExp }[] = [
    { path: '/assets/missing.js', status: 404, message: /no route GET \/assets\/missing\.js/ },
    { path: '/assets/..%2f..%2fpackage.json', status: 404, message: /may not leave the UI's folder/ },
    { path: '/package.json', status: 404, message: /no route GET \/package\.json/ }, // (fetch resolves /%2e%2e/ to / itself)
    { path: '/api/v1/no-such-route/at/all', status: 404, message: /no route GET \/api\/v1\/no-such-route\/at\/all/ },
    { path: '/api', status: 404, message: /no route GET \/api/ },
    { path: '/', method: 'POST', token: accessToken, status: 404, message: /no route POST \// }, // the UI is GET only
    { path: '/api/v1/workloads', status: 401, message: /bearer token is required/ },
  ];
  for (const r of refusals) {
    const answer = await rawRequest(server.url, { path: r.path, ...(r.method ? { method: r.method } : {}), ...(r.token ? { token: r.token } : {}) });
    assert.equal(answer.status, r.status, r.path);
    assert.match(answer.body.message ?? '', r.message, r.path);
  }
  const api = await rawRequest(server.url, { path: '/api/v1/workloads', token: accessToken });
  assert.equal(api.status, 200);
  assert.equal(api.body.kind, 'WorkloadList');
  assert.equal((await rawRequest(server.url, { path: '/healthz' })).status, 200);
});

test('without a build, / says how to make one (503), and /api still answers as before', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'lattice-no-ui-'));
  const app = Fastify();
  t.after(async () => {
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });
  app.decorate('config', resolveConfig({ logger: false }));
  await app.register(errorAnswersPlugin);
  await app.register(uiStaticPlugin, { root: empty });
  for (const path of ['/', '/workloads/alice/web']) {
    const answer = await app.inject({ url: path });
    assert.equal(answer.statusCode, 503, path);
    assert.match(answer.json().message, /the web UI is not built \(ui\/dist is missing\): run `npm run build:ui`/);
  }
  assert.equal((await app.inject({ url: '/api/v1/x/y/z' })).statusCode, 404);
});

test('ensureUiBuilt builds with Vite when the output is missing or older than the sources, and not otherwise', { timeout: 120_000 }, async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'lattice-ui-build-'));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const out = join(parent, 'dist');
  assert.equal(isUiFresh(out), false);
  assert.equal(await ensureUiBuilt(out), 'built');
  const index = readFileSync(join(out, 'index.html'), 'utf8');
  assert.match(index, /<lattice-app><\/lattice-app>/);
  assert.match(index, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
  const built = statSync(join(out, 'index.html')).mtimeMs;
  assert.equal(await ensureUiBuilt(out), 'fresh');
  assert.equal(statSync(join(out, 'index.html')).mtimeMs, built, 'a fresh build is left alone');
  utimesSync(join(out, 'index.html'), new Date('2000-01-01'), new Date('2000-01-01'));
  assert.equal(isUiFresh(out), false, 'older than its sources');
  assert.equal(await ensureUiBuilt(out), 'built');
  assert.ok(isUiFresh(out));
});
