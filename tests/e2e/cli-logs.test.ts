// `lattice logs` against a real agent, selecting its context like every other command
// (--context, LATTICE_CONTEXT, the current one) and refreshing an expired access token.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { CliHome } from '../cli/support.ts';
import { e2eTest, scriptWorkload, sleep, waitFor, getWorkload } from './support.ts';

e2eTest('lattice logs: --context, LATTICE_CONTEXT and an expired access token, like get', { config: { accessTokenTtlSeconds: 2 } }, async (env) => {
  const { user, namespace: ns, url } = env;
  await env.startAgent({ name: 'logs-host' });
  await user.apply([scriptWorkload('greeter', env.marker('greeter'), "console.log('hello from greeter'); setInterval(() => {}, 1 << 30)")]);
  await waitFor(async () => (await getWorkload(user, ns, 'greeter'))?.status?.phase === 'Running', 20_000, 'greeter Running');

  const home = new CliHome(env.t);
  await home.ok(['login', '--server', url, '--username', 'tenant', '--name', 'tenant'], { input: 'tenant-password-1\n' });
  // The current context points elsewhere: only a command that honours the selection finds the log.
  const config = home.readConfig();
  config.contexts.elsewhere = { server: 'http://127.0.0.1:9', token: 'not-a-token' };
  config.currentContext = 'elsewhere';
  writeFileSync(home.config, JSON.stringify(config));

  assert.match(await home.ok(['logs', 'greeter', '--context', 'tenant']), /hello from greeter/);
  assert.match(await home.ok(['logs', 'greeter'], { env: { LATTICE_CONTEXT: 'tenant' } }), /hello from greeter/);
  const before = home.readConfig().contexts.tenant!.token;
  await sleep(2_100); // the access token has expired
  assert.match(await home.ok(['logs', 'greeter', '--context', 'tenant']), /hello from greeter/);
  assert.notEqual(home.readConfig().contexts.tenant!.token, before, 'the token was refreshed');
  const failed = await home.run(['logs', 'greeter']);
  assert.notEqual(failed.code, 0, 'the current context is the one that does not work');
});
