// apply / get / describe / diff / delete / scale / rollout / agent tokens as subprocesses against
// a real server (no reconciler: objects stay exactly as written, so outputs are deterministic).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { Workload } from '../../schemas/types.gen.ts';
import { startTestServer } from '../support/server.ts';
import { CliHome, REPO } from './support.ts';

const WEB = readFileSync(join(REPO, 'examples', 'web.yaml'), 'utf8');
const HELLO = readFileSync(join(REPO, 'examples', 'hello.yaml'), 'utf8');

test('apply, get in every output format (yaml/json round-trip as unchanged), describe, delete; kind aliases; errors name the file', async (t) => {
  const server = await startTestServer(t);
  const { client } = await server.user('alice');
  const home = new CliHome(t);
  await home.useClient(client, server.url);

  assert.equal(await home.ok(['apply', '-f', join(REPO, 'examples', 'web.yaml'), '-f', join(REPO, 'examples', 'hello.yaml')]), 'workload/web created\nworkload/hello created\n');
  assert.equal(await home.ok(['apply', '-f', '-'], { input: WEB }), 'workload/web unchanged\n', 'stdin, and idempotent');
  assert.equal(await home.ok(['apply', '-f', join(REPO, 'examples', 'web.yaml'), '--dry-run']), 'workload/web unchanged (dry run)\n');

  assert.match(await home.ok(['get', 'workloads']), /^NAME {4}READY {3}STATUS {4}RESTARTS {3}AGE\nhello {3}0\/1 {5}Pending {3}0 {10}\d+s\nweb {5}0\/2 {5}Pending {3}0 {10}\d+s\n$/);
  const wide = await home.ok(['get', 'wl', 'web', '-o', 'wide']);
  assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+ENDPOINTS\s+IMAGE\/COMMAND\nweb\s+0\/2\s+Pending\s+0\s+\d+s\s+<none>\s+sh -c exec python3 -m http\.server "\$PORT" --bind 127\.0\.0\.1\n$/);
  assert.equal(await home.ok(['get', 'workload/web', '-o', 'name']), 'workload/web\n');
  assert.equal(await home.ok(['get', 'workloads', '-l', 'app=hello', '-o', 'name']), 'workload/hello\n');

  // -o yaml of one object and -o json of the list parse, and apply back as unchanged.
  const yaml = await home.ok(['get', 'wl', 'web', '-o', 'yaml']);
  const object = parseYaml(yaml) as Workload;
  assert.equal(object.kind, 'Workload');
  assert.equal(object.spec.replicas, 2);
  assert.ok(object.metadata.uid && object.metadata.resourceVersion);
  assert.equal(await home.ok(['apply', '-f', home.write('web-out.yaml', yaml)]), 'workload/web unchanged\n');
  const json = await home.ok(['get', 'workloads', '-o', 'json']);
  const list = JSON.parse(json) as { kind: string; items: Workload[] };
  assert.equal(list.kind, 'List');
  assert.deepEqual(list.items.map((w) => w.metadata.name), ['hello', 'web']);
  assert.equal(await home.ok(['apply', '-f', home.write('all.json', json)]), 'workload/hello unchanged\nworkload/web unchanged\n');

  const describe = await home.ok(['describe', 'wl', 'web']);
  for (const line of [/^Name: +web$/m, /^Namespace: +alice$/m, /^Labels: +app=web$/m, /^Status: +Pending: 0\/2 ready/m, /^Runtime: +process: sh -c exec python3 -m http\.server "\$PORT"/m, /^Ports: +http 8080\/http \(expose host\)$/m, /^Resources: +cpu 100m, memory 64Mi$/m, /^Health check: +http GET \/ on port http every 5s/m, /^Conditions: <none>$/m, /^Instances: <none>$/m, /^Endpoints: <none>$/m, /^Events: <none>$/m]) {
    assert.match(describe, line);
  }

  // A broken manifest: nothing is written, and the error names the file, document and field.
  const broken = home.write('broken.yaml', `${HELLO}---\n${WEB.replace('replicas: 2', 'replicas: -3')}`);
  const refused = await home.run(['apply', '-f', broken]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: the apply was refused \(422 Invalid\), nothing was changed:\n {2}.*broken\.yaml \(document 2\): spec\.replicas: must be an integer from 0 to 1000\n/);
  const unparsable = await home.run(['apply', '-f', home.write('bad.yaml', 'kind: Workload\nmetadata: [\n')]);
  assert.equal(unparsable.code, 1);
  assert.match(unparsable.stderr, /^error: .*bad\.yaml \(document 1\): .* at line \d+, column \d+\n$/);
  const prune = await home.run(['apply', '-f', broken, '--prune']);
  assert.match(prune.stderr, /--prune needs --applyset NAME/);
  const stale = await home.run(['apply', '-f', home.write('web3.yaml', WEB.replace('replicas: 2', 'replicas: 3')), '--if-revision', '0']);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /409 Conflict.*changed at revision \d+, after ifRevision=0/s);

  // Kinds and their aliases; a secret's values stay hidden unless asked for.
  await home.ok(['apply', '-f', join(REPO, 'examples', 'gitops', 'greeting.yaml')]);
  assert.match(await home.ok(['get', 'secrets']), /^NAME\s+KEYS\s+AGE\ngreeting\s+1\s+\d+s\n$/);
  assert.match(await home.ok(['get', 'secret', 'greeting', '-o', 'yaml']), /text: <redacted>/);
  assert.match(await home.ok(['get', 'secret', 'greeting', '-o', 'yaml', '--show-secrets']), /text: hello/);
  const redacted = await home.run(['apply', '-f', home.write('secret-out.yaml', await home.ok(['get', 'secret', 'greeting', '-o', 'yaml']))]);
  assert.equal(redacted.code, 1, 'a redacted copy would overwrite the value with the placeholder');
  assert.match(redacted.stderr, /spec\.data\.text is the placeholder <redacted>/);
  const missing = await home.run(['get', 'wl', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: Workload alice\/nope not found\n$/);

  // delete -f and delete KIND NAME.
  assert.equal(await home.ok(['delete', '-f', join(REPO, 'examples', 'hello.yaml')]), 'workload/hello deleted\n');
  assert.equal(await home.ok(['delete', 'workload/web', '--wait']), 'workload/web deleted\n');
  const gone = await home.run(['delete', 'wl', 'web', '-n', 'alice']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /error: workload\/web not found in namespace alice/);
  const empty = await home.run(['get', 'workloads']);
  assert.equal(empty.code, 0);
  assert.equal(empty.stderr, 'No workloads found in namespace alice.\n');
  assert.match(await home.ok(['get', 'ev']), /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n\d+s\s+Normal\s+Deleted\s+workload\/hello\s+deleted by alice\n/);
});

test('diff: exit 0 without changes, 1 with (field diff and placement), 2 on errors; apply-set prune shows in diff and apply', async (t) => {
  const server = await startTestServer(t);
  const { client } = await server.user('bob');
  const home = new CliHome(t);
  await home.useClient(client, server.url);
  const web = home.write('web.yaml', WEB);
  await home.ok(['apply', '-f', web, '-f', join(REPO, 'examples', 'hello.yaml'), '--applyset', 'site']);

  // A directory: its subdirectories only with -R.
  mkdirSync(join(home.dir, 'site', 'more'), { recursive: true });
  writeFileSync(join(home.dir, 'site', 'more', 'greeting.yaml'), readFileSync(join(REPO, 'examples', 'gitops', 'greeting.yaml')));
  const flat = await home.run(['apply', '-f', join(home.dir, 'site')]);
  assert.equal(flat.code, 1);
  assert.match(flat.stderr, /no objects in .*site \(looked for \.yaml, \.yml and \.json files; -R to include subdirectories\)/);
  assert.equal(await home.ok(['apply', '-f', join(home.dir, 'site'), '-R']), 'secret/greeting created\n');

  const same = await home.run(['diff', '-f', web]);
  assert.deepEqual([same.code, same.stdout, same.stderr], [0, '', '']);

  const changed = await home.run(['diff', '-f', home.write('web-changed.yaml', WEB.replace('replicas: 2', 'replicas: 3').replace('app: web', 'app: web\n    tier: front'))]);
  assert.equal(changed.code, 1, changed.stderr);
  assert.equal(
    changed.stdout,
    [
      'workload/web configured (namespace bob)',
      '  + metadata.labels.tier: "front"',
      '  ~ spec.replicas: 2 → 3',
      '  placement once rolled out:',
      '    pending 3 replicas: no agents have joined',
      '',
    ].join('\n'),
  );
  assert.equal((await client.get<Workload>('workloads', 'bob', 'web')).spec.replicas, 2, 'diff writes nothing');

  // Pruning by inventory: hello left the set's files.
  const pruned = await home.run(['diff', '-f', web, '--applyset', 'site', '--prune']);
  assert.equal(pruned.code, 1);
  assert.equal(pruned.stdout, 'workload/hello pruned (namespace bob)\n');
  assert.equal(await home.ok(['apply', '-f', web, '--applyset', 'site', '--prune']), 'workload/web unchanged\nworkload/hello pruned\n');

  const invalid = await home.run(['diff', '-f', home.write('invalid.yaml', WEB.replace('containerPort: 8080', 'containerPort: 99999'))]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /invalid\.yaml \(document 1\): spec\.ports\[0\]\.containerPort: must be an integer from 1 to 65535/);
  assert.equal((await home.run(['diff', '-f', join(home.dir, 'absent.yaml')])).code, 2);
  assert.equal((await home.run(['diff', '--no-such-flag'])).code, 2, 'usage errors are not "differences"');
});

test('scale, rollout history / undo / restart, agent token create / list / revoke, get agents', async (t) => {
  const server = await startTestServer(t);
  const admin = await server.admin();
  const home = new CliHome(t);
  await home.useClient(admin, server.url);
  const namespace = (await admin.whoami()).namespaces[0]!;
  const read = () => admin.get<Workload>('workloads', namespace, 'web');

  await home.ok(['apply', '-f', home.write('v1.yaml', WEB)]);
  const v1 = (await read()).spec;
  await home.ok(['apply', '-f', home.write('v2.yaml', WEB.replace('--bind 127.0.0.1', '--bind 127.0.0.2'))]);
  const v2 = (await read()).spec;
  assert.equal(await home.ok(['scale', 'web', '--replicas', '0']), 'workload/web scaled to 0\n');
  assert.equal((await read()).spec.replicas, 0, '0 stops it without deleting it');
  assert.equal(await home.ok(['scale', 'wl/web', '--replicas', '0']), 'workload/web unchanged: already 0 replicas\n');
  const badScale = await home.run(['scale', 'web', '--replicas', 'many']);
  assert.equal(badScale.code, 1);
  assert.match(badScale.stderr, /--replicas must be a whole number from 0 to 1000/);

  assert.match(await home.ok(['rollout', 'history', 'web']), /^workload\/web\nREVISION\s+AGE\s+CHANGED\n1\s+\d+s\s+\(first\)\n2\s+\d+s\s+command\n3\s+\d+s\s+replicas\s+\(current\)\n$/);
  assert.deepEqual(parseYaml(await home.ok(['rollout', 'history', 'web', '--revision', '1'])), v1);

  // undo: back to generation 2 (the one before the current), as a new generation.
  assert.equal(await home.ok(['rollout', 'undo', 'web']), 'workload/web rolled back to generation 2 (now generation 4)\n');
  assert.deepEqual((await read()).spec, v2);
  assert.equal(await home.ok(['rollout', 'undo', 'web', '--to-revision', '1']), 'workload/web rolled back to generation 1 (now generation 5)\n');
  assert.deepEqual((await read()).spec, v1, 'the earlier spec is back');
  const notKept = await home.run(['rollout', 'undo', 'web', '--to-revision', '42']);
  assert.equal(notKept.code, 1);
  assert.match(notKept.stderr, /generation 42 is not in the history \(kept: 1, 2, 3, 4, 5\)/);

  // restart: a new template (spec.restartedAt) that a later apply of the manifest keeps.
  assert.equal(await home.ok(['rollout', 'restart', 'web']), 'workload/web restarted (generation 6)\n');
  const restarted = await read();
  assert.ok(Date.now() - Date.parse(restarted.spec.restartedAt!) < 60_000);
  assert.equal(await home.ok(['apply', '-f', join(home.dir, 'v1.yaml')]), 'workload/web unchanged\n', 're-applying does not undo or repeat the restart');

  // Join tokens: created (shown once), listed without the secret, revoked.
  const created = await home.ok(['agent', 'token', 'create', '--expires-in-hours', '1']);
  const token = /^(ljt_\S+)$/m.exec(created)![1]!;
  assert.match(created, /^join token \(shared agents, valid until \S+\):\n/);
  const id = /^ljt_(.+)\.[^.]+$/.exec(token)![1]!;
  const listed = await home.ok(['agent', 'token', 'list']);
  assert.match(listed, new RegExp(`^ID\\s+SCOPE\\s+AGE\\s+EXPIRES\\s+STATUS\\n${id.replace(/[-]/g, '\\-')}\\s+shared\\s+\\d+s\\s+\\S+\\s+Valid\\n$`));
  assert.ok(!listed.includes(token.split('.').at(-1)!), 'the secret is never listed');
  await server.client.request('POST', '/agents/register', { body: { joinToken: token, name: 'laptop' } });
  assert.equal(await home.ok(['agent', 'token', 'revoke', id]), `join token ${id} revoked\n`);
  const refusal = await server.client.request('POST', '/agents/register', { body: { joinToken: token, name: 'other' } }).catch((e: { status: number }) => e.status);
  assert.equal(refusal, 401, 'no agent joins with a revoked token');
  const again = await home.run(['agent', 'token', 'revoke', id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not found \(or already revoked\)/);
  assert.equal((await home.run(['agent', 'token', 'list'])).stderr, 'No join tokens.\n');

  assert.match(await home.ok(['get', 'agents']), /^NAME\s+STATUS\s+RUNTIMES\s+AGE\s+VERSION\nlaptop\s+NotReady\s+<none>\s+\d+s\s+<none>\n$/);
  assert.match(await home.ok(['describe', 'agent', 'laptop']), /^Owner: +<shared>$/m);
});

test('get -w prints a change another client makes', async (t) => {
  const server = await startTestServer(t);
  const { client } = await server.user('erin');
  const home = new CliHome(t);
  await home.useClient(client, server.url);
  await home.ok(['apply', '-f', home.write('web.yaml', WEB)]);
  const watch = home.start(['get', 'workloads', '-w']);
  await watch.waitFor(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb\s+0\/2\s+Pending/);
  const from = watch.stdout().length;
  await client.apply(WEB.replace('replicas: 2', 'replicas: 5'));
  await watch.waitFor(/^web\s+0\/5\s+Pending\s+0\s+\d+s$/m, { from });
  await client.apply(HELLO);
  await watch.waitFor(/^hello\s+0\/1\s+Pending/m, { from });
  const yamlWatch = home.start(['get', 'wl', 'web', '-w', '-o', 'yaml']);
  await yamlWatch.waitFor(/replicas: 5/);
  const yamlFrom = yamlWatch.stdout().length;
  await client.apply(WEB.replace('replicas: 2', 'replicas: 6'));
  await yamlWatch.waitFor(/replicas: 6/, { from: yamlFrom });
  const documents = parseAllDocuments(yamlWatch.stdout()).map((d) => d.toJS() as Workload);
  assert.deepEqual(documents.map((d) => d.spec.replicas), [5, 6], 'the object, then each change as a document');
  assert.equal((await watch.stop()).code, 0, 'SIGTERM ends the watch cleanly');
  await yamlWatch.stop();
});
