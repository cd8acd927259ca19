// A hostile tenant on a real `lattice up`: Mallory registers herself and tries every attack of the
// trust-model review (DESIGN §6a, issue "Strangers share machines safely") against the admin, whose
// `local` agent is shared, and Alice, who runs her own private agent. One test per attack, each
// asserting the refusal; everything Mallory received, every process's output and every Event is
// kept, and the last test greps all of it for the others' secrets and the admin's password.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type IncomingMessage, get as httpGet, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { LatticeClient } from '../../client/api-client.ts';
import type { Event, Instance, Workload } from '../../schemas/types.gen.ts';
import { type LatticeProcess, SLEEPER, freePort, sleep, killByMarker, scriptWorkload, spawnLattice, tempDir, uniqueMarker, unschedulableReason, waitFor } from '../e2e/support.ts';

const ADMIN_SECRET = `admin-vault-${randomBytes(12).toString('hex')}`;
const ALICE_SECRET = `alice-db-${randomBytes(12).toString('hex')}`;
const ALICE_PASSWORD = `alice-${randomBytes(12).toString('hex')}`;
const MALLORY_PASSWORD = 'mallory-password-1';
const LIMITS = {
  LATTICE_REGISTRATIONS_PER_HOUR: '6',
  LATTICE_OBJECTS_PER_NAMESPACE: '8',
  LATTICE_REPLICAS_PER_WORKLOAD: '3',
  LATTICE_WATCHES_PER_USER: '30',
  LATTICE_LOG_STREAMS_PER_USER: '2',
};

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

/** The world as Mallory finds it, and everything she was sent. */
class Run {
  url = '';
  dataDir = tempDir('hostile-up');
  processes: LatticeProcess[] = [];
  markers: string[] = [];
  dirs: string[] = [this.dataDir];
  /** Every body, header and message Mallory received. */
  received: string[] = [];
  adminPassword = '';
  admin!: LatticeClient;
  alice!: LatticeClient;
  malloryToken = '';
  /** Values that must never reach Mallory, a log or an Event, by what they are. */
  secrets = new Map<string, string>();

  /** An HTTP request as Mallory (or anyone she pretends to be), recorded. */
  async call(method: string, path: string, options: { token?: string; json?: unknown; body?: string; contentType?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    const token = options.token ?? this.malloryToken;
    if (token) headers.authorization = `Bearer ${token}`;
    let body = options.body;
    if (options.json !== undefined) body = JSON.stringify(options.json);
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${this.url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    this.received.push(`${method} ${path} → ${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    return { status: response.status, text, headers: response.headers };
  }

  /** A WebSocket as Mallory: resolves with the upgrade's refusal status, or the messages of the first ms. */
  socket(path: string, token: string, ms = 1_000): Promise<{ refused?: number; messages: string[] }> {
    return new Promise((resolve) => {
      const messages: string[] = [];
      const socket = new WebSocket(`${this.url.replace('http', 'ws')}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
      socket.on('unexpected-response', (_request, response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          this.received.push(`WS ${path} → ${response.statusCode} ${text}`);
          resolve({ refused: response.statusCode, messages });
        });
      });
      socket.on('message', (data) => {
        messages.push(data.toString());
        this.received.push(`WS ${path} ← ${data.toString()}`);
      });
      socket.on('open', () => setTimeout(() => socket.close(), ms));
      socket.on('close', () => resolve({ messages }));
      socket.on('error', () => {});
    });
  }

  spawn(label: string, args: string[], env: Record<string, string> = {}): LatticeProcess {
    const proc = spawnLattice(label, args, { env, cwd: this.dataDir });
    this.processes.push(proc);
    return proc;
  }

  async startAgent(name: string, joinToken: string): Promise<string> {
    const dir = tempDir(`hostile-${name}`);
    this.dirs.push(dir);
    const agent = this.spawn(`agent ${name}`, ['agent', '--server', this.url, '--name', name, '--data-dir', dir, '--join-token', joinToken, '--heartbeat-seconds', '0.5']);
    await waitFor(() => {
      if (agent.hasExited()) throw new Error(`agent ${name} exited:\n${agent.output()}`);
      return agent.output().includes(`agent ${name}: connected`);
    }, 30_000, `agent ${name} to connect`);
    return dir;
  }
}

const run = new Run();

/** POST /auth/login from a given loopback source address (127.0.0.0/8 all reaches 127.0.0.1). */
function loginFrom(localAddress: string, username: string, password: string): Promise<number> {
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${run.url}/api/v1/auth/login`, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        run.received.push(`login from ${localAddress} → ${response.statusCode} ${text}`);
        resolve(response.statusCode ?? 0);
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function running(client: LatticeClient, namespace: string, name: string): Promise<Instance> {
  return waitFor(async () => {
    const items = (await client.list<Instance>('instances', { namespace })).items.filter((i) => i.metadata.labels?.['lattice.dev/workload'] === name);
    return items.find((i) => i.status?.state === 'Running');
  }, 30_000, `${namespace}/${name} to run`);
}

function withSecretEnv(workload: Workload, secret: string, key: string): Workload {
  workload.spec.env = [{ name: 'SECRET_VALUE', valueFrom: { secretKeyRef: { name: secret, key } } }];
  return workload;
}

function noLeakIn(text: string, where: string): void {
  for (const [what, value] of run.secrets) assert.ok(!text.includes(value), `${where} holds ${what}`);
}

describe('a hostile tenant on lattice up', { timeout: 240_000 }, () => {
  before(async () => {
    const port = await freePort();
    run.url = `http://127.0.0.1:${port}`;
    const up = run.spawn('lattice up', ['up', '--listen', `127.0.0.1:${port}`, '--data-dir', run.dataDir], {
      LATTICE_CONFIG: join(run.dataDir, 'cli-config.json'),
      LATTICE_AGENT_HEARTBEAT: '0.5',
      ...LIMITS,
    });
    await waitFor(() => {
      if (up.hasExited()) throw new Error(`lattice up exited:\n${up.output()}`);
      return up.stdout().includes('Lattice is up');
    }, 60_000, '"Lattice is up"');
    const adminFile = JSON.parse(readFileSync(join(run.dataDir, 'admin.json'), 'utf8')) as { username: string; password: string };
    run.adminPassword = adminFile.password;
    const anonymous = new LatticeClient({ server: run.url });
    run.admin = anonymous.withToken((await anonymous.login(adminFile.username, adminFile.password)).accessToken);

    // The admin's secret, resolved into a process on the shared agent (and so into its state files).
    const adminNamespace = (await run.admin.whoami()).namespaces[0]!;
    const adminMarker = uniqueMarker('hostile-admin');
    run.markers.push(adminMarker);
    await run.admin.apply([
      { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'vault' }, spec: { data: { token: ADMIN_SECRET } } },
      withSecretEnv(scriptWorkload('vault-reader', adminMarker, SLEEPER), 'vault', 'token'),
    ]);
    await running(run.admin, adminNamespace, 'vault-reader');

    // Alice: a tenant with her own private agent, running her secret.
    await anonymous.register('alice', ALICE_PASSWORD);
    run.alice = anonymous.withToken((await anonymous.login('alice', ALICE_PASSWORD)).accessToken);
    const { token: aliceJoin } = await run.alice.createJoinToken(1);
    const aliceDir = await run.startAgent('alice-box', aliceJoin);
    const aliceMarker = uniqueMarker('hostile-alice');
    run.markers.push(aliceMarker);
    await run.alice.apply([
      { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'db' }, spec: { data: { password: ALICE_SECRET } } },
      withSecretEnv(scriptWorkload('app', aliceMarker, SLEEPER), 'db', 'password'),
    ]);
    await running(run.alice, 'alice', 'app');

    const localCredential = JSON.parse(readFileSync(join(run.dataDir, 'agent', 'credential.json'), 'utf8')) as { token: string };
    const aliceCredential = JSON.parse(readFileSync(join(aliceDir, 'credential.json'), 'utf8')) as { token: string };
    run.secrets = new Map([
      ['the admin\'s secret', ADMIN_SECRET],
      ['Alice\'s secret', ALICE_SECRET],
      ['Alice\'s password', ALICE_PASSWORD],
      ['the admin\'s password', run.adminPassword],
      ['local\'s credential', localCredential.token],
      ['alice-box\'s credential', aliceCredential.token],
      ['Alice\'s join token', aliceJoin],
    ]);

    assert.equal((await run.call('POST', '/auth/register', { token: '', json: { username: 'mallory', password: MALLORY_PASSWORD } })).status, 201);
    run.malloryToken = (JSON.parse((await run.call('POST', '/auth/login', { token: '', json: { username: 'mallory', password: MALLORY_PASSWORD } })).text) as { accessToken: string }).accessToken;
  });

  after(async () => {
    await Promise.all(run.processes.map((p) => p.kill('SIGKILL')));
    for (const marker of run.markers) killByMarker(marker);
    for (const dir of run.dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('1 · a process workload that would read the host (admin password, agent credential, others\' state) never runs on the shared agent', async () => {
    const thief = scriptWorkload('thief', uniqueMarker('thief'), SLEEPER);
    thief.spec.command = ['sh', '-c', `cat /etc/shadow ${run.dataDir}/admin.json ${run.dataDir}/agent/credential.json ${run.dataDir}/agent/process/instances/*/state.json; sleep 600`];
    assert.equal((await run.call('POST', '/apply', { json: thief })).status, 200);
    const mallory = new LatticeClient({ server: run.url, token: run.malloryToken });
    // Alice's private agent is not one Mallory may use: it is not even counted.
    assert.match(await unschedulableReason(mallory, 'mallory', 'thief'), /^0\/1 agents can run it: 1 runs processes only for its owner/);
    const instances = (await mallory.list<Instance>('instances', { namespace: 'mallory' })).items;
    assert.ok(instances.every((i) => !i.spec.agent), `no instance of thief was placed: ${JSON.stringify(instances.map((i) => i.spec.agent))}`);
    const logs = await run.call('GET', '/namespaces/mallory/workloads/thief/logs');
    assert.equal(logs.status, 503);
    assert.equal((await run.call('DELETE', '/namespaces/mallory/workloads/thief')).status, 202, 'deleted once its instances stop');
  });

  test('2 · agent credentials: a forged one, a user token, another\'s agent name and its deletion are all refused', async () => {
    assert.equal((await run.socket('/agents/connect', `lag_local.${randomBytes(32).toString('base64url')}`)).refused, 401, 'a forged credential for local');
    assert.equal((await run.socket('/agents/connect', run.malloryToken)).refused, 403, 'a user token is no agent credential');
    assert.equal((await run.call('POST', '/agents/rotate')).status, 403, 'rotate takes an agent credential');
    const { token: joinToken } = JSON.parse((await run.call('POST', '/auth/join-tokens', { json: { expiresInHours: 1 } })).text) as { token: string };
    for (const name of ['local', 'alice-box']) {
      const taken = await run.call('POST', '/agents/register', { token: '', json: { joinToken, name } });
      assert.equal(taken.status, 409, `joining as ${name} with Mallory's own join token`);
      assert.match(taken.text, /is taken; choose another --name/);
    }
    assert.equal((await run.call('DELETE', '/agents/local')).status, 403, 'a shared agent is the admin\'s to delete');
    assert.equal((await run.call('DELETE', '/agents/alice-box')).status, 404, 'another user\'s private agent does not exist for Mallory');
    assert.equal((await run.call('GET', '/agents/alice-box')).status, 404);
    assert.ok(!(await run.call('GET', '/agents')).text.includes('alice-box'), 'nor is it listed');
  });

  test('4 · 5 · watches: a watch of every kind holds Mallory\'s namespace and the shared agents only; past the per-user limit, 429', async () => {
    const everything = await run.socket('/watch', run.malloryToken, 1_500);
    assert.equal(everything.refused, undefined);
    const objects = everything.messages.map((m) => JSON.parse(m) as { object?: { kind: string; metadata: { namespace?: string; name: string } } }).flatMap((m) => (m.object ? [m.object] : []));
    assert.ok(objects.some((o) => o.kind === 'Agent' && o.metadata.name === 'local'), 'the shared agent is visible');
    for (const o of objects) {
      if (o.kind === 'Agent') assert.notEqual(o.metadata.name, 'alice-box');
      else assert.equal(o.metadata.namespace, 'mallory', `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);
    }
    assert.equal((await run.socket('/watch?namespace=alice', run.malloryToken)).refused, 403);
    const open = Array.from({ length: 30 }, () => new WebSocket(`${run.url.replace('http', 'ws')}/api/v1/watch?kind=Workload`, { headers: { authorization: `Bearer ${run.malloryToken}` } }));
    try {
      await Promise.all(open.map((s) => new Promise((resolve, reject) => (s.once('open', resolve), s.once('error', reject)))));
      assert.equal((await run.socket('/watch?kind=Secret', run.malloryToken)).refused, 429, 'a watch past the limit');
      assert.match(run.received.at(-1)!, /at most 30 open watches per user/);
    } finally {
      for (const s of open) s.close();
    }
  });

  test('6 · logs and stats: another tenant\'s are refused; Mallory\'s own log streams stop at the per-user limit', async () => {
    for (const path of ['/namespaces/alice/workloads/app/logs', '/namespaces/alice/workloads/app/logs?follow=true', '/namespaces/alice/workloads/app/stats']) {
      assert.equal((await run.call('GET', path)).status, 403, path);
    }
    // Her own machine runs her own processes: a chatty one, to stream.
    const { token: joinToken } = JSON.parse((await run.call('POST', '/auth/join-tokens', { json: { expiresInHours: 1 } })).text) as { token: string };
    await run.startAgent('mallory-box', joinToken);
    const marker = uniqueMarker('chatty');
    run.markers.push(marker);
    const mallory = new LatticeClient({ server: run.url, token: run.malloryToken });
    await mallory.apply([scriptWorkload('chatty', marker, 'setInterval(() => console.log("line", Date.now()), 100)')]);
    await running(mallory, 'mallory', 'chatty');
    const streams = [new AbortController(), new AbortController()];
    try {
      for (const stream of streams) {
        const response = await fetch(`${run.url}/api/v1/namespaces/mallory/workloads/chatty/logs?follow=true`, { headers: { authorization: `Bearer ${run.malloryToken}` }, signal: stream.signal });
        assert.equal(response.status, 200);
      }
      const third = await run.call('GET', '/namespaces/mallory/workloads/chatty/logs?follow=true');
      assert.equal(third.status, 429);
      assert.match(third.text, /at most 2 open log streams per user/);
    } finally {
      for (const stream of streams) stream.abort();
    }
  });

  // What a watcher that reads nothing costs is its window and a share of one list, not a copy of
  // the list (which each once held); `npm run bench -- slow-clients` prints the figures at scale.
  test('4 · 6 · memory: 20 watchers of a 20 MB list that read nothing and two log streams nobody reads stay within lattice up\'s memory budget, and /healthz keeps answering', async () => {
    const upPid = run.processes[0]!.child.pid!;
    const rssMb = () => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${upPid}/status`, 'utf8'))![1]) / 1024;
    // The admin (not limited) stores 2,000 workloads of 10 KB; every watcher lists them all.
    const blob = 'x'.repeat(10_000);
    for (let b = 0; b < 8; b++) {
      await run.admin.apply(Array.from({ length: 250 }, (_, i) => ({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: `big-${b}-${i}`, annotations: { blob } }, spec: { image: 'none/none:1', replicas: 0 } })));
    }
    const before = rssMb();
    const adminToken = run.admin.options.token!;
    const watchers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const socket = new WebSocket(`${run.url.replace('http', 'ws')}/api/v1/watch?kind=Workload`, { headers: { authorization: `Bearer ${adminToken}` } });
        await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
        // Reads nothing from here on: the server can only fill the kernel's buffers, then waits.
        (socket as unknown as { _socket: { pause(): void } })._socket.pause();
        return socket;
      }),
    );
    const readers = await Promise.all(
      Array.from({ length: 2 }, () =>
        new Promise<IncomingMessage>((resolve, reject) => {
          const request = httpGet(`${run.url}/api/v1/namespaces/mallory/workloads/chatty/logs?follow=true`, { headers: { authorization: `Bearer ${run.malloryToken}` } }, (response) => {
            response.pause();
            resolve(response);
          });
          request.on('error', reject);
        }),
      ),
    );
    try {
      let peak = before;
      for (let i = 0; i < 8; i++) {
        await sleep(500);
        peak = Math.max(peak, rssMb());
        const health = await fetch(`${run.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
        assert.equal(health.status, 200, '/healthz answers throughout');
      }
      // DESIGN §9's budget (for 300 watchers of a 10,000-object list and 10 log streams); a copy of
      // this list for each watcher would be 400 MB of text alone.
      assert.ok(peak - before < 150, `lattice up grew by ${(peak - before).toFixed(0)} MB (${before.toFixed(0)} → ${peak.toFixed(0)} MB)`);
    } finally {
      for (const socket of watchers) socket.terminate();
      for (const reader of readers) reader.destroy();
    }
  });

  test('7 · limits: registration per address, objects per namespace, replicas per workload', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await run.call('POST', '/auth/register', { token: '', json: { username: `sock-${i}`, password: 'sock-password-1' } })).status);
    assert.ok(statuses.includes(429), `a burst of registrations from one address is stopped: ${statuses.join(',')}`);
    assert.ok(run.received.some((r) => /POST \/auth\/register → 429 .*retry-after/.test(r)), 'with retry-after');

    const secrets = Array.from({ length: 12 }, (_, i) => ({ apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: `junk-${i}` }, spec: { data: { k: 'v' } } }));
    const flood = await run.call('POST', '/apply', { json: secrets });
    assert.equal(flood.status, 429);
    assert.match(flood.text, /namespace mallory holds \d+ objects .* at most 8 \(LATTICE_OBJECTS_PER_NAMESPACE\)/);
    assert.ok(!(await run.call('GET', '/namespaces/mallory/secrets')).text.includes('junk-'), 'nothing of the refused apply was written');

    const wide = scriptWorkload('wide', uniqueMarker('wide'), SLEEPER, { replicas: 50 });
    const tooWide = await run.call('POST', '/apply', { json: wide });
    assert.equal(tooWide.status, 429);
    assert.match(tooWide.text, /spec\.replicas 50 is more than the 3 replicas a workload may have \(LATTICE_REPLICAS_PER_WORKLOAD\)/);
  });

  test('8 · guessing Alice\'s password from one address never locks Alice out at hers', async () => {
    for (let i = 1; i <= 10; i++) assert.equal(await loginFrom('127.0.0.2', 'alice', `guess-${i}`), 401, `guess ${i}`);
    assert.equal(await loginFrom('127.0.0.2', 'alice', `guess-11`), 429, 'the guessing address is stopped');
    assert.equal(await loginFrom('127.0.0.1', 'alice', ALICE_PASSWORD), 200, 'Alice logs in from her own address');
  });

  test('9 · a secret key named constructor is an ordinary key, never the prototype', async () => {
    const generated = await run.call('POST', '/apply', { json: { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'proto' }, spec: { generate: { constructor: { length: 16 } } } } });
    assert.equal(generated.status, 200, generated.text);
    const shown = JSON.parse((await run.call('GET', '/namespaces/mallory/secrets/proto?showSecrets=true')).text) as { spec: { data: Record<string, string> } };
    assert.ok(Object.hasOwn(shown.spec.data, 'constructor'));
    assert.match(String(shown.spec.data['constructor']), /^[A-Za-z0-9]{16}$/);
  });

  test('10 · the admin\'s name cannot be registered by a tenant', async () => {
    const squat = await run.call('POST', '/auth/register', { token: '', json: { username: 'admin', password: 'squatter-password-1' } });
    assert.ok(squat.status === 409 || squat.status === 429, `register admin → ${squat.status}`);
    assert.equal((await run.call('POST', '/auth/login', { token: '', json: { username: 'admin', password: 'squatter-password-1' } })).status, 401);
  });

  test('11 · the small ones: duplicate JSON keys, a number for a password, dry-run placement, file modes', async () => {
    const duplicate = await run.call('POST', '/apply', { body: '{"apiVersion":"lattice/v1","kind":"Secret","metadata":{"name":"d","name":"e"},"spec":{}}' });
    assert.equal(duplicate.status, 400);
    assert.match(duplicate.text, /the body repeats the key metadata\.name/);
    assert.equal((await run.call('POST', '/auth/login', { token: '', json: { username: 'mallory', password: 12345678 } })).status, 400);
    // Mallory may use local and her own mallory-box (since attack 6): never Alice's.
    const dryRun = await run.call('POST', '/apply?dryRun=true', { json: scriptWorkload('probe', 'probe', SLEEPER, { replicas: 3 }) });
    assert.equal(dryRun.status, 200, dryRun.text);
    assert.ok(dryRun.text.includes('placement'), dryRun.text);
    const counted = [...dryRun.text.matchAll(/\d+\/(\d+) agents/g)].map((m) => Number(m[1]));
    assert.ok(!dryRun.text.includes('alice-box') && counted.every((n) => n <= 2), `the preview counts only agents Mallory may use: ${dryRun.text}`);
    for (const file of ['lattice.db', 'admin.json', 'agent/credential.json']) assert.equal(statSync(join(run.dataDir, file)).mode & 0o777, 0o600, file);
    assert.equal(statSync(join(run.dataDir, 'agent')).mode & 0o077, 0, 'the agent directory is its owner\'s');
  });

  test('cross-tenant requests: every read, write and delete of Alice\'s objects is refused', async () => {
    const alice = (await run.alice.get<Workload>('workloads', 'alice', 'app')) as Workload;
    const requests: [string, string, unknown?][] = [
      ['GET', '/namespaces/alice/secrets/db?showSecrets=true'],
      ['GET', '/namespaces/alice/secrets'],
      ['GET', '/namespaces/alice/workloads/app'],
      ['GET', '/namespaces/alice/instances'],
      ['GET', '/namespaces/alice/events'],
      ['GET', '/namespaces/alice/workloads/app/history'],
      ['PUT', '/namespaces/alice/workloads/app', { ...alice, spec: { ...alice.spec, command: ['sh', '-c', 'env'] } }],
      ['DELETE', '/namespaces/alice/workloads/app'],
      ['DELETE', '/namespaces/alice/secrets/db'],
      ['POST', '/apply', { ...alice, metadata: { name: 'app', namespace: 'alice' } }],
    ];
    for (const [method, path, json] of requests) {
      const answer = await run.call(method, path, json === undefined ? {} : { json });
      assert.ok(answer.status === 403 || answer.status === 404, `${method} ${path} → ${answer.status}`);
    }
    const mine = JSON.parse((await run.call('GET', '/secrets')).text) as { items: { metadata: { namespace: string } }[] };
    assert.ok(mine.items.every((s) => s.metadata.namespace === 'mallory'));
    assert.equal((await run.alice.get<Workload>('workloads', 'alice', 'app')).metadata.generation, alice.metadata.generation, 'Alice\'s workload is untouched');
  });

  test('nothing leaked: no response, watch message, process output, Event or file Mallory\'s agent holds carries a secret', async () => {
    assert.ok(run.received.length > 50, `Mallory's transcript is there (${run.received.length} entries)`);
    noLeakIn(run.received.join('\n'), 'what Mallory received');
    // The one place the admin's password is shown: up's banner on the operator's terminal, at start.
    const banner = new RegExp(`^.*admin\\s+admin / ${run.adminPassword}\\s+\\(kept in .*admin\\.json\\)\\n`, 'm');
    for (const proc of run.processes) noLeakIn(proc.output().replace(banner, ''), `the output of ${proc.label}`);
    const events = await run.admin.list<Event>('events');
    assert.ok(events.items.length > 0);
    noLeakIn(JSON.stringify(events.items), 'the Events');
    const malloryDir = run.dirs.at(-1)!;
    const files = readdirSync(malloryDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(files.length > 0);
    for (const file of files) noLeakIn(readFileSync(join(file.parentPath, file.name), 'utf8'), `Mallory's agent's ${file.name}`);
    // The secrets were really out there, a cat away had the process runtime run Mallory's command:
    // the shared agent's state holds the admin's resolved secret.
    const states = readdirSync(join(run.dataDir, 'agent'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name === 'state.json');
    assert.ok(states.some((e) => readFileSync(join(e.parentPath, e.name), 'utf8').includes(ADMIN_SECRET)), 'the grep would have found it');
  });
});
