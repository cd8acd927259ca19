// The agent credential opens the agent connection and nothing else; user tokens never open it;
// an agent cannot write the status of (or finish) another agent's Instance; a malformed message
// ends the connection with 1008 (policy violation).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { AgentMessage, Instance, ObservedInstance } from '../../schemas/types.gen.ts';
import {
  agentCredential,
  e2eTest,
  findPids,
  getAgent,
  getWorkload,
  isAlive,
  listInstances,
  recordedPid,
  scriptWorkload,
  SLEEPER,
  sleep,
  waitFor,
  within,
} from './support.ts';

async function rest(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

/** The HTTP status the agents' WebSocket upgrade is refused with, or 101 if it opened. */
function upgradeStatus(url: string, token: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/agents/connect`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(101);
      socket.close();
    });
    socket.once('error', (error) => reject(error));
  });
}

interface AgentSession {
  socket: WebSocket;
  send(message: AgentMessage | Record<string, unknown> | string): void;
  closed: Promise<{ code: number; reason: string }>;
  received: unknown[];
}

async function connectAgent(url: string, credential: string): Promise<AgentSession> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/agents/connect`, { headers: { authorization: `Bearer ${credential}` } });
  const received: unknown[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`agent connection refused: HTTP ${response.statusCode}`)));
    socket.once('error', reject);
  });
  return { socket, closed, received, send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)) };
}

const HELLO_FACTS = { capacity: { cpu: '1000m', memory: '1Gi' }, runtimes: ['process' as const], version: 'e2e-intruder', address: '127.0.0.1' };

e2eTest('security: agent credential only opens the agent socket; user tokens never do; an agent cannot touch another agent’s Instance; bad messages close with 1008', { timeout: 90_000 }, async (env) => {
  const { user, admin, namespace: ns, url } = env;
  const victim = await env.startAgent({ name: 'victim', labels: { role: 'victim' } });
  const intruderProcess = await env.startAgent({ name: 'intruder' });
  const credential = agentCredential(intruderProcess);
  assert.equal(credential.name, 'intruder');
  assert.match(credential.token, /^lag_intruder\./);
  // The real intruder process would take its connection back (a newer connection replaces the older one).
  await intruderProcess.kill();

  const marker = env.marker('victim');
  await user.apply([scriptWorkload('target', marker, SLEEPER, { placement: { agentSelector: { role: 'victim' } } })]);
  const [target] = await waitFor(
    async () => {
      const w = await getWorkload(user, ns, 'target');
      const instances = await listInstances(user, ns, 'target');
      return w?.status?.phase === 'Running' && instances.length === 1 && instances[0]!.status?.state === 'Running' ? instances : undefined;
    },
    20_000,
    'target to run on victim',
  );
  assert.equal(target!.spec.agent, 'victim');
  const victimPid = recordedPid(victim, target!.metadata.uid!);
  assert.ok(victimPid && isAlive(victimPid));

  // ---- the agent credential on REST routes: 403
  const workloadManifest = scriptWorkload('sneaky', env.marker('sneaky'), SLEEPER);
  const refusals = {
    'GET /api/v1/workloads': await rest(url, credential.token, 'GET', '/api/v1/workloads'),
    [`GET /api/v1/namespaces/${ns}/instances`]: await rest(url, credential.token, 'GET', `/api/v1/namespaces/${ns}/instances`),
    [`GET /api/v1/namespaces/${ns}/instances/${target!.metadata.name}`]: await rest(url, credential.token, 'GET', `/api/v1/namespaces/${ns}/instances/${target!.metadata.name}`),
    'GET /api/v1/agents': await rest(url, credential.token, 'GET', '/api/v1/agents'),
    'POST /api/v1/apply': await rest(url, credential.token, 'POST', '/api/v1/apply', { ...workloadManifest, metadata: { ...workloadManifest.metadata, namespace: ns } }),
    [`PUT /api/v1/namespaces/${ns}/instances/${target!.metadata.name}/status`]: await rest(url, credential.token, 'PUT', `/api/v1/namespaces/${ns}/instances/${target!.metadata.name}/status`, { state: 'Failed' }),
    'POST /api/v1/auth/join-tokens': await rest(url, credential.token, 'POST', '/api/v1/auth/join-tokens', { expiresInHours: 1 }),
  };
  for (const [route, answer] of Object.entries(refusals)) {
    assert.equal(answer.status, 403, `${route} with the agent credential: ${answer.status} ${answer.body}`);
    assert.match(answer.body, /agent credentials may only be used for the agent connection/, route);
  }
  assert.equal(await getWorkload(user, ns, 'sneaky'), undefined, 'the refused apply wrote nothing');

  // ---- the agent credential on the watch socket (header or query): 403
  for (const [how, watchUrl, headers] of [
    ['header', `${url.replace(/^http/, 'ws')}/api/v1/watch?kind=Instance&namespace=${ns}`, { authorization: `Bearer ${credential.token}` }],
    ['query', `${url.replace(/^http/, 'ws')}/api/v1/watch?kind=Instance&namespace=${ns}&access_token=${encodeURIComponent(credential.token)}`, {}],
  ] as const) {
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(watchUrl, { headers });
      socket.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('open', () => {
        resolve(101);
        socket.close();
      });
      socket.once('error', reject);
    });
    assert.equal(status, 403, `the agent credential (${how}) on /api/v1/watch`);
  }

  // ---- user (and admin) tokens on the agents' socket: 403; no token: 401
  assert.equal(await upgradeStatus(url, user.options.token), 403, 'a user token is refused on /api/v1/agents/connect');
  assert.equal(await upgradeStatus(url, admin.options.token), 403, 'an admin token is refused on /api/v1/agents/connect');
  assert.equal(await upgradeStatus(url, undefined), 401, 'no token: 401');
  assert.equal(await upgradeStatus(url, `${credential.token}x`), 401, 'a wrong agent secret: 401');

  // ---- the intruder speaks the protocol with its own credential and forges reports on victim's instance
  const before = (await user.get<Instance>('instances', ns, target!.metadata.name)).status;
  const forged: ObservedInstance = {
    uid: target!.metadata.uid!,
    templateHash: target!.spec.templateHash,
    state: 'Failed',
    restarts: 99,
    exitCode: 137,
    health: 'Unhealthy',
    endpoints: [{ port: 'http', url: 'http://127.0.0.1:1/forged' }],
    message: 'forged by intruder',
  };
  const session = await connectAgent(url, credential.token);
  session.send({ type: 'hello', agent: HELLO_FACTS, instances: [forged] });
  session.send({ type: 'status', instance: forged });
  session.send({ type: 'heartbeat' });
  session.send({ type: 'gone', uid: target!.metadata.uid! });
  // Messages are handled in order: once the invalid one closes the socket, the forgeries were handled.
  session.send({ type: 'bogus', uid: 'x' });
  const closed = await within(session.closed, 10_000, { code: -1, reason: 'not closed within 10 s' });
  assert.equal(closed.code, 1008, `an invalid message closes with 1008 (got ${closed.code} ${closed.reason})`);
  env.note(`intruder session closed: ${closed.code} ${closed.reason}; it received ${JSON.stringify(session.received)}`);

  await sleep(500);
  const after = await user.get<Instance>('instances', ns, target!.metadata.name);
  assert.deepEqual(after.status, before, "victim's Instance status is unchanged by the intruder's hello/status");
  assert.equal(after.metadata.deletionTimestamp, undefined);
  assert.equal(after.metadata.uid, target!.metadata.uid);
  assert.ok(isAlive(victimPid), "victim's process still runs");
  const workload = await getWorkload(user, ns, 'target');
  assert.equal(workload?.status?.phase, 'Running', 'the Workload is still Running');
  assert.ok(!JSON.stringify(workload?.status).includes('forged'), 'no forged endpoint reached the Workload');
  assert.ok(!session.received.some((m) => (m as { type?: string }).type === 'deploy'), 'the intruder was sent no deploy (and no secrets)');

  // ---- more protocol violations, each on a fresh connection: 1008
  const violations: [string, string | Record<string, unknown>][] = [
    ['not JSON', '{not json'],
    ['status before hello', { type: 'status', instance: forged }],
    ['hello missing its facts', { type: 'hello', instances: [] }],
    ['hello with an extra field', { type: 'hello', agent: HELLO_FACTS, instances: [], extra: true }],
  ];
  for (const [what, message] of violations) {
    const s = await connectAgent(url, credential.token);
    s.send(message);
    const c = await within(s.closed, 10_000, { code: -1, reason: 'not closed within 10 s' });
    assert.equal(c.code, 1008, `${what}: closed with ${c.code} ${c.reason}`);
  }

  // The victim's agent was never disturbed.
  await sleep(300);
  assert.deepEqual(findPids(marker), [victimPid]);
  assert.ok(!victim.output().includes('disconnected'), 'victim kept its connection');
});

e2eTest('agent credentials: a copy used beside the live agent shows on the Agent; rotating revokes the old one at once and the agent carries on; joining again revokes too', { timeout: 90_000 }, async (env) => {
  const { user, admin, namespace: ns, url } = env;
  const steady = await env.startAgent({ name: 'steady' });
  const stolen = agentCredential(steady).token;
  const copy = await connectAgent(url, stolen);
  copy.send({ type: 'hello', agent: HELLO_FACTS, instances: [] });
  const warned = await waitFor(
    async () => (await getAgent(admin, 'steady'))?.status?.conditions?.find((c) => c.type === 'SecondConnection' && c.status === 'True'),
    10_000,
    'the SecondConnection condition on the Agent',
  );
  assert.equal(warned.reason, 'CredentialReused');
  assert.match(warned.message ?? '', /presented this agent's credential .* while the one from 127\.0\.0\.1 was live .* run `lattice agent rotate` on its machine/);
  copy.socket.terminate();

  // The owner rotates on the agent's machine: the copy is worthless at once, the agent reconnects with the new one.
  const rotate = env.spawn('lattice agent rotate', ['agent', 'rotate', '--data-dir', steady.dataDir]);
  assert.equal((await rotate.exited).code, 0, rotate.output());
  assert.match(rotate.stdout(), /agent steady: credential rotated; the previous one is revoked/);
  assert.equal(await upgradeStatus(url, stolen), 401, 'the old credential is refused');
  const fresh = agentCredential(steady).token;
  assert.notEqual(fresh, stolen);
  assert.equal(statSync(join(steady.dataDir, 'credential.json')).mode & 0o777, 0o600);
  const marker = env.marker('after-rotate');
  await user.apply([scriptWorkload('after-rotate', marker, SLEEPER)]);
  const placed = await waitFor(async () => (await listInstances(user, ns, 'after-rotate')).find((i) => i.status?.state === 'Running'), 20_000, 'a workload Running on the rotated agent');
  assert.equal(placed.spec.agent, 'steady');
  assert.equal(findPids(marker).length, 1);

  // Joining again under the same name also replaces the credential: the one before is refused.
  const rejoined = await fetch(`${url}/api/v1/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ joinToken: env.joinToken, name: 'steady' }) });
  assert.equal(rejoined.status, 201);
  assert.equal(await upgradeStatus(url, fresh), 401, 'the credential from before the new join is refused');
});

e2eTest('deleting an Agent revokes its credential and cuts it off; what it ran is replaced elsewhere; a tenant may not delete a shared agent', { timeout: 90_000 }, async (env) => {
  const { user, admin, namespace: ns, url } = env;
  const doomed = await env.startAgent({ name: 'doomed', labels: { role: 'first' } });
  const marker = env.marker('moving');
  await user.apply([scriptWorkload('moving', marker, SLEEPER)]);
  const first = await waitFor(async () => (await listInstances(user, ns, 'moving')).find((i) => i.status?.state === 'Running'), 20_000, 'moving Running on doomed');
  assert.equal(first.spec.agent, 'doomed');
  await env.startAgent({ name: 'spare' });

  await assert.rejects(user.delete('agents', undefined, 'doomed'), (error: { status?: number; body?: { message?: string } }) => error.status === 403 && /only an admin may delete it/.test(error.body?.message ?? ''));
  const credential = agentCredential(doomed).token;
  await admin.delete('agents', undefined, 'doomed');
  assert.equal(await getAgent(admin, 'doomed'), undefined, 'the Agent is gone');
  assert.equal(await upgradeStatus(url, credential), 401, 'its credential is revoked');
  await waitFor(() => doomed.output().includes('connection refused: HTTP 401'), 10_000, 'the agent cut off and refused on reconnect');
  // Refused for good: it stops retrying, says how to join again, and exits non-zero.
  const { code } = await doomed.exited;
  assert.equal(code, 1);
  assert.match(doomed.output(), /refused this agent's credential 3 times: it was revoked .* Join again with a new token/);
  const replaced = await waitFor(
    async () => (await listInstances(user, ns, 'moving')).find((i) => i.spec.agent === 'spare' && i.status?.state === 'Running'),
    30_000,
    'a replacement Running on spare',
  );
  assert.notEqual(replaced.metadata.uid, first.metadata.uid);
});
