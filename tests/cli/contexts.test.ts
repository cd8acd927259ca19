// lattice login / whoami / config as subprocesses: contexts in a private file, several of them,
// switching, and access tokens refreshed without the user noticing (also by processes at once).
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../support/server.ts';
import { CliHome } from './support.ts';

test('login with a prompted password and with an API token; contexts, use-context, --context, whoami; config mode 0600', async (t) => {
  const server = await startTestServer(t);
  const home = new CliHome(t);
  await server.user('alice', 'alice-password');
  const bob = await server.user('bob', 'bob-password');
  const { token: bobToken } = await bob.client.request<{ token: string }>('POST', '/auth/tokens', { body: { name: 'ci' } });
  const host = new URL(server.url).host;

  // No terminal: the answers come as lines on stdin.
  const login = await home.ok(['login', '--server', server.url], { input: 'alice\nalice-password\n' });
  assert.match(login, new RegExp(`Logged in to ${server.url.replace(/\./g, '\\.')} as alice \\(namespace alice\\)`));
  assert.equal(statSync(home.config).mode & 0o777, 0o600, 'the config holds tokens: owner only');
  assert.equal(statSync(dirname(home.config)).mode & 0o777, 0o700);
  const afterLogin = home.readConfig();
  assert.equal(afterLogin.currentContext, `alice@${host}`);
  const alice = afterLogin.contexts[`alice@${host}`]!;
  assert.equal(alice.server, server.url);
  assert.equal(alice.username, 'alice');
  assert.ok(alice.refreshToken?.startsWith('lrt_'), 'a login keeps a refresh token');
  assert.ok(Date.parse(alice.expiresAt!) > Date.now());

  await home.ok(['login', '--server', server.url, '--token', bobToken, '--name', 'bob-ci']);
  assert.equal(statSync(home.config).mode & 0o777, 0o600, 'still private after a rewrite');
  assert.match(await home.ok(['whoami']), /^bob \(user\) in namespaces bob\ncontext bob-ci, server http:\/\/127\.0\.0\.1:\d+\n$/);
  const contexts = await home.ok(['config', 'get-contexts']);
  assert.match(contexts, /^CURRENT\s+NAME\s+SERVER\s+USER\s+NAMESPACE\n/);
  assert.match(contexts, new RegExp(`\\n\\s+alice@${host.replace(/\./g, '\\.')}\\s+http://\\S+\\s+alice\\s+alice\\n`));
  assert.match(contexts, /\n\*\s+bob-ci\s+http:\/\/\S+\s+bob\s+bob\n/);
  assert.match(await home.ok(['--context', `alice@${host}`, 'whoami']), /^alice \(user\)/, '--context picks another context for one command');
  assert.equal((await home.ok(['config', 'current-context'])).trim(), 'bob-ci');
  assert.match(await home.ok(['config', 'use-context', `alice@${host}`]), /Switched to context/);
  const json = JSON.parse(await home.ok(['whoami', '-o', 'json'])) as { username: string; namespaces: string[]; context: string };
  assert.deepEqual([json.username, json.namespaces, json.context], ['alice', ['alice'], `alice@${host}`]);

  const wrong = await home.run(['login', '--server', server.url, '--username', 'alice', '--name', 'x'], { input: 'not-the-password\n' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^error: wrong username or password/);
  assert.equal(home.readConfig().contexts.x, undefined, 'a failed login saves nothing');

  const unknown = await home.run(['config', 'use-context', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no context "nope" in .*; known: alice@.*, bob-ci/);

  assert.match(await home.ok(['logout']), /Logged out; context "alice@/);
  assert.equal(home.readConfig().contexts[`alice@${host}`], undefined);
  assert.equal((await server.client.withToken(alice.token).request('GET', '/auth/whoami').catch((e: { status: number }) => e.status)), 401, 'logout ended the session on the server');
});

test('an expired access token is refreshed transparently: before a command, on a 401, and by several processes at once', async (t) => {
  const server = await startTestServer(t, { accessTokenTtlSeconds: 2 });
  const home = new CliHome(t);
  await server.user('carol', 'carol-password');
  await home.ok(['login', '--server', server.url, '--username', 'carol'], { input: 'carol-password\n' });
  const name = home.readConfig().currentContext!;
  const first = home.readConfig().contexts[name]!;

  // Expired by the clock: refreshed before the request.
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  assert.match(await home.ok(['whoami']), /^carol /);
  const second = home.readConfig().contexts[name]!;
  assert.notEqual(second.token, first.token);
  assert.notEqual(second.refreshToken, first.refreshToken, 'the refresh token rotated');
  assert.equal(statSync(home.config).mode & 0o777, 0o600);

  // The server refuses it (401) while the config claims it is good: refreshed, request retried.
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const config = home.readConfig();
  config.contexts[name]!.expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  writeFileSync(home.config, JSON.stringify(config));
  assert.match(await home.ok(['whoami']), /^carol /);
  const third = home.readConfig().contexts[name]!;
  assert.notEqual(third.refreshToken, second.refreshToken);

  // Three processes find the token expired together: one refreshes, the others adopt its token.
  // A replayed refresh token would end the session (the server's theft detection).
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const results = await Promise.all([1, 2, 3].map(() => home.run(['whoami'])));
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  assert.match(await home.ok(['whoami']), /^carol /, 'the session survived');
});

test('help; without a context, or with an unreachable server, commands fail and say what to do', async (t) => {
  const home = new CliHome(t);
  const help = await home.ok(['--help']);
  for (const command of ['up', 'server', 'agent', 'register', 'login', 'whoami', 'top', 'config', 'apply', 'diff', 'get', 'describe', 'delete', 'rollout', 'scale', 'gitops']) assert.match(help, new RegExp(`^  ${command} `, 'm'));
  assert.match(await home.ok(['rollout', '--help']), /history \[options\] <workload>[\s\S]*undo \[options\] <workload>[\s\S]*restart \[options\] <workload>/);
  const usage = await home.run(['get']);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /error: missing required argument 'kind'/);

  const none = await home.run(['get', 'workloads']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no current context in .*config\.json: log in with `lattice login --server URL`/);
  assert.equal(none.stdout, '');

  const server = await startTestServer(t);
  const dave = await server.user('dave');
  await home.useClient(dave.client, server.url);
  await server.app.close();
  const down = await home.run(['get', 'workloads']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^error: cannot reach the control plane at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\nhint: is `lattice up` or `lattice server` running there\?/);
});

test('register: creates the user from a prompted password, then logs in as it; a taken name and a failed login say what to do', async (t) => {
  const server = await startTestServer(t);
  const home = new CliHome(t);
  const out = await home.ok(['register', '--server', server.url], { input: 'erin\nerin-password-1\n' });
  assert.match(out, /^Registered erin at http:\/\/127\.0\.0\.1:\d+ \(namespace erin\)\.\nLogged in to .* as erin \(namespace erin\)\.\nContext "erin@127\.0\.0\.1:\d+" is now current/);
  assert.match(await home.ok(['whoami']), /^erin \(user\) in namespaces erin/);
  assert.ok(home.readConfig().contexts[home.readConfig().currentContext!]!.refreshToken, 'a session, refreshed like login’s');

  const taken = await home.run(['register', '--server', server.url, '--username', 'erin'], { input: 'another-password-1\n' });
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /^error: .*erin.*; if it is yours, `lattice login --server http:\/\/127\.0\.0\.1:\d+`/);

  const wrong = await home.run(['login', '--server', server.url, '--username', 'frank'], { input: 'no-such-password\n' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /new here\? create the user with `lattice register --server http:\/\/127\.0\.0\.1:\d+`/);
});
