// docker-compose.yml as README and .env.example document it: `cp .env.example .env`, set the three
// secrets, and `docker-compose config` accepts it, wiring two server replicas to one PostgreSQL, a
// load balancer (HAProxy, deploy/haproxy.cfg) in front of them, and the agent to the balancer with
// the same join token; without them it refuses, naming what to set. Checked with Debian's
// docker-compose (v1, the same file format as `docker compose`); nothing is pulled or run. The
// HAProxy config is checked with `haproxy -c` too where an haproxy binary is installed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO } from './support.ts';

const run = promisify(execFile);
const COMPOSE = '/usr/bin/docker-compose';

function unavailable(): string | false {
  if (existsSync(COMPOSE)) return false;
  if (process.env.CI === 'true') throw new Error('CI=true requires the compose test to run: apt-get install docker-compose');
  console.log('# skipping the compose test: apt-get install docker-compose to run it');
  return 'docker-compose is not installed';
}

const skip = unavailable();

interface Service {
  image?: string;
  environment?: Record<string, string>;
  command?: string[];
  ports?: unknown[];
  volumes?: string[];
  network_mode?: string;
  depends_on?: Record<string, { condition: string }>;
}

const HAPROXY_CFG = join('deploy', 'haproxy.cfg');

/** The first executable named `name` on PATH, if any. */
function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '').split(':').filter((entry) => entry.startsWith('/')).map((entry) => join(entry, name)).find((file) => existsSync(file));
}

/** A compose project as a user makes it: the repo's files, and .env copied from .env.example plus `extra`. */
function project(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-compose-'));
  mkdirSync(join(dir, 'deploy'));
  for (const file of ['docker-compose.yml', 'Dockerfile', '.env.example', HAPROXY_CFG]) copyFileSync(join(REPO, file), join(dir, file));
  copyFileSync(join(dir, '.env.example'), join(dir, '.env'));
  writeFileSync(join(dir, '.env'), `\n${extra}`, { flag: 'a' });
  return dir;
}

async function composeConfig(dir: string): Promise<{ ok: true; services: Record<string, Service> } | { ok: false; stderr: string }> {
  try {
    const { stdout } = await run(COMPOSE, ['config'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
    return { ok: true, services: (parse(stdout) as { services: Record<string, Service> }).services };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: string }).stderr) };
  }
}

test('docker-compose config accepts the documented .env and wires two server replicas, PostgreSQL, the balancer and the agent together', { skip }, async (t) => {
  const token = 'c0ffee'.repeat(8);
  const dir = project(`POSTGRES_PASSWORD=pg-secret-1\nLATTICE_ADMIN_PASSWORD=admin-secret-1\nLATTICE_AGENT_JOIN_TOKEN=${token}\n`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = await composeConfig(dir);
  assert.ok(config.ok, config.ok ? '' : config.stderr);
  const { postgres, agent, lb } = config.services;
  const replicas = { 'server-a': config.services['server-a'], 'server-b': config.services['server-b'] };
  assert.ok(postgres && agent && lb && replicas['server-a'] && replicas['server-b'], `services: ${Object.keys(config.services).join(', ')}`);
  assert.equal(postgres.environment?.POSTGRES_PASSWORD, 'pg-secret-1');
  for (const [name, server] of Object.entries(replicas)) {
    assert.equal(server!.environment?.LATTICE_DB, 'postgres://lattice:pg-secret-1@postgres:5432/lattice', `${name} on the one PostgreSQL`);
    assert.equal(server!.environment?.LATTICE_ADMIN_PASSWORD, 'admin-secret-1');
    assert.equal(server!.environment?.LATTICE_AGENT_JOIN_TOKEN, token);
    assert.equal(server!.depends_on?.postgres?.condition, 'service_healthy', `${name} waits for a healthy PostgreSQL`);
    // Where the other replica reaches this one (the flag, or its variable).
    const advertised = server!.environment?.LATTICE_ADVERTISE_URL ?? server!.command?.[server!.command.indexOf('--advertise-url') + 1];
    assert.equal(advertised, `http://${name}:8080`, `${name} advertises its own URL`);
    assert.equal(server!.ports, undefined, `${name} is reached through the balancer only`);
  }

  // The balancer: HAProxy with the repo's config, read-only, and the API on loopback as before.
  assert.match(lb.image ?? '', /^haproxy:/);
  assert.ok(lb.volumes?.some((v) => v.endsWith('/deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro')), `the config mounted read-only: ${JSON.stringify(lb.volumes)}`);
  assert.match(JSON.stringify(lb.ports), /127\.0\.0\.1:8080:8080/, 'the API is published on loopback');
  assert.ok(lb.depends_on?.['server-a'] && lb.depends_on['server-b']);

  // The agent: on the host's network, pointed at the balancer's published port.
  assert.equal(agent.environment?.LATTICE_JOIN_TOKEN, token, 'the agent joins with the token the servers accept');
  assert.equal(agent.network_mode, 'host');
  assert.deepEqual(agent.command?.slice(0, 3), ['agent', '--server', 'http://127.0.0.1:8080']);
  assert.ok(agent.depends_on?.lb, 'the agent starts after the balancer');
});

test('the HAProxy config balances both replicas round robin, checks /readyz and leaves WebSockets open', () => {
  const file = join(REPO, HAPROXY_CFG);
  assert.ok(existsSync(file), `${HAPROXY_CFG} exists`);
  const cfg = readFileSync(file, 'utf8').replace(/#.*$/gm, '');
  assert.match(cfg, /^\s*mode http\s*$/m);
  assert.match(cfg, /^\s*balance roundrobin\s*$/m);
  assert.match(cfg, /^\s*option httpchk GET \/readyz\s*$/m);
  assert.match(cfg, /^\s*timeout tunnel 1h\s*$/m, 'WebSockets (agents, watches) outlive ordinary requests');
  for (const replica of ['server-a', 'server-b']) assert.match(cfg, new RegExp(`^\\s*server ${replica} ${replica}:8080 check\\b`, 'm'), `${replica} is a health-checked backend`);
});

// Debian's haproxy (.ci/run installs it); on a machine without it this one check skips.
const haproxy = onPath('haproxy');
if (!haproxy && process.env.CI === 'true') throw new Error('no haproxy on PATH; CI=true requires the check of deploy/haproxy.cfg to run (apt-get install haproxy)');
test('haproxy -c accepts the config', { skip: haproxy ? false : 'no haproxy on PATH' }, async () => {
  await run(haproxy!, ['-c', '-f', join(REPO, HAPROXY_CFG)]);
});

test('without the secrets in .env, docker-compose config refuses and says what to set', { skip }, async (t) => {
  const dir = project('');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = await composeConfig(dir);
  assert.equal(config.ok, false);
  assert.match(config.ok ? '' : config.stderr, /set (POSTGRES_PASSWORD|LATTICE_ADMIN_PASSWORD|LATTICE_AGENT_JOIN_TOKEN) in \.env/);
});
