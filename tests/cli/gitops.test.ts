// lattice gitops as a subprocess against a real server: chokidar sees files added, edited and
// removed; pruning goes by inventory only; a broken file is reported while the rest syncs; the
// interval puts back what was changed by hand; --once is for CI.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LatticeClient } from '../../client/api-client.ts';
import type { Workload } from '../../schemas/types.gen.ts';
import { startTestServer } from '../support/server.ts';
import { waitFor } from '../e2e/support.ts';
import { CliHome } from './support.ts';

function manifest(name: string, replicas: number): string {
  return `apiVersion: lattice/v1
kind: Workload
metadata:
  name: ${name}
  labels:
    app: site
spec:
  command: ["sleep", "3600"]
  replicas: ${replicas}
`;
}

async function replicasOf(client: LatticeClient, name: string): Promise<number | undefined> {
  try {
    return (await client.get<Workload>('workloads', 'gina', name)).spec.replicas;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
}

test('gitops: add → created, edit → configured, delete → pruned, hand-applied look-alike untouched, broken file reported while others sync', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer(t);
  const { client } = await server.user('gina');
  const home = new CliHome(t);
  await home.useClient(client, server.url);
  const site = join(home.dir, 'site');
  mkdirSync(join(site, 'nested'), { recursive: true });
  writeFileSync(join(site, 'a.yaml'), manifest('a', 1));
  writeFileSync(join(site, 'nested', 'b.yaml'), manifest('b', 1));
  writeFileSync(join(site, 'README.md'), 'not a manifest');
  // Same labels as the synced objects, applied by hand: never the loop's to prune.
  await client.apply(manifest('by-hand', 1));

  const loop = home.start(['gitops', site, '--prune', '--interval', '1h', '--debounce', '100ms']);
  await loop.waitFor(/^gitops: watching .*site \(apply set gitops-site, prune, every 1h\)/m);
  await loop.waitFor(/^\[\S+\] sync \(start\) revision [0-9a-f]{12} → store revision \d+: applied 2 \(2 created, 0 configured\), unchanged 0, pruned 0, errors 0\n {2}workload\/a created\n {2}workload\/b created\n/m);
  assert.equal(await replicasOf(client, 'b'), 1, 'subdirectories are synced');

  let from = loop.stdout().length;
  writeFileSync(join(site, 'c.yaml'), manifest('c', 1));
  await loop.waitFor(/sync \(change\) .*: applied 1 \(1 created, 0 configured\), unchanged 2, pruned 0, errors 0\n {2}workload\/c created\n/, { from });

  from = loop.stdout().length;
  writeFileSync(join(site, 'a.yaml'), manifest('a', 2));
  await loop.waitFor(/sync \(change\) .*: applied 1 \(0 created, 1 configured\), unchanged 2, pruned 0, errors 0\n {2}workload\/a configured\n/, { from });
  assert.equal(await replicasOf(client, 'a'), 2);

  from = loop.stdout().length;
  rmSync(join(site, 'nested'), { recursive: true });
  await loop.waitFor(/sync \(change\) .*: applied 0 \(0 created, 0 configured\), unchanged 2, pruned 1, errors 0\n {2}workload\/b pruned\n/, { from });
  assert.equal(await replicasOf(client, 'b'), undefined, 'pruned: its file left the directory');
  assert.equal(await replicasOf(client, 'by-hand'), 1, 'an object the loop did not apply is never pruned, whatever its labels');

  // c.yaml changes and a.yaml breaks (an invalid value): c syncs, a keeps its last good state.
  // (Whether one sync or two see these writes is up to the debounce; both end the same.)
  from = loop.stdout().length;
  writeFileSync(join(site, 'c.yaml'), manifest('c', 4));
  writeFileSync(join(site, 'a.yaml'), manifest('a', 3).replace('replicas: 3', 'replicas: -1'));
  await loop.waitFor(/^ {2}workload\/c configured$/m, { from });
  await loop.waitFor(/sync \(change\) .*errors 1\n(?: {2}.*\n)*? {2}error .*site\/a\.yaml: spec\.replicas: must be an integer from 0 to 1000 \(its last good state stays applied\)\n/, { from });
  assert.equal(await replicasOf(client, 'c'), 4);
  assert.equal(await replicasOf(client, 'a'), 2, 'the broken file left its object as last applied');

  // A file that does not even parse, new in this run: reported; nothing may be pruned meanwhile.
  from = loop.stdout().length;
  writeFileSync(join(site, 'd.yaml'), 'kind: Workload\nmetadata: [\n');
  rmSync(join(site, 'c.yaml'));
  const unparsable = await loop.waitFor(/sync \(change\) .*errors 2\n(?: {2}.*\n)+/, { from });
  assert.match(unparsable[0], /^ {2}error .*site\/d\.yaml \(document 1\): .*at line \d+, column \d+$/m);
  assert.match(unparsable[0], /^ {2}prune skipped: /m);
  assert.equal(await replicasOf(client, 'c'), 4, 'not pruned while a broken file may hold objects');

  // Fixed: everything syncs again, and the delayed prune happens.
  from = loop.stdout().length;
  writeFileSync(join(site, 'a.yaml'), manifest('a', 2));
  rmSync(join(site, 'd.yaml'));
  await loop.waitFor(/sync \(change\) .*: applied 0 \(0 created, 0 configured\), unchanged 1, pruned 1, errors 0\n {2}workload\/c pruned\n/, { from });
  assert.equal((await loop.stop()).code, 0, 'SIGTERM stops the loop cleanly');
  assert.equal(await replicasOf(client, 'by-hand'), 1);
});

test('gitops: a change made by hand is reverted at the next interval; --once exits 0, or 1 with a broken file', { timeout: 60_000 }, async (t) => {
  const server = await startTestServer(t);
  const { client } = await server.user('gina');
  const home = new CliHome(t);
  await home.useClient(client, server.url);
  const site = join(home.dir, 'repo');
  mkdirSync(site);
  writeFileSync(join(site, 'web.yaml'), manifest('web', 2));

  const once = await home.run(['gitops', site, '--once', '--applyset', 'ci']);
  assert.equal(once.code, 0, once.stderr);
  assert.match(once.stdout, /^\[\S+\] sync \(start\) revision [0-9a-f]{12} → store revision \d+: applied 1 \(1 created, 0 configured\), unchanged 0, pruned 0, errors 0\n {2}workload\/web created\n$/);

  const loop = home.start(['gitops', site, '--applyset', 'ci', '--interval', '1s']);
  await loop.waitFor(/sync \(start\) .*unchanged 1/);
  const from = loop.stdout().length;
  await client.apply(manifest('web', 7)); // drift
  await loop.waitFor(/sync \(interval\) .*applied 1 \(0 created, 1 configured\).*\n {2}workload\/web configured \(drift corrected\)\n/, { from });
  await waitFor(async () => (await replicasOf(client, 'web')) === 2, 20_000, 'the file’s replicas back');
  await loop.stop();

  writeFileSync(join(site, 'broken.yaml'), manifest('other', 1).replace('kind: Workload', 'kind: Gadget'));
  const failed = await home.run(['gitops', site, '--once', '--applyset', 'ci']);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /errors 1\n {2}error .*repo\/broken\.yaml: kind: .*\n/);
  const notDir = await home.run(['gitops', join(site, 'web.yaml')]);
  assert.equal(notDir.code, 1);
  assert.match(notDir.stderr, /is not a directory of manifests/);
});
