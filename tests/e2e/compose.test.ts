// docker-compose.yml as README and .env.example document it: `cp .env.example .env`, set the three
// secrets, and `docker-compose config` accepts it, wiring the server to its PostgreSQL and the agent
// to the server with the same join token; without them it refuses, naming what to set. Checked with
// Debian's docker-compose (v1, the same file format as `docker compose`); nothing is pulled or run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  environment?: Record<string, string>;
  command?: string[];
  ports?: unknown[];
  depends_on?: Record<string, { condition: string }>;
}

/** A compose project as a user makes it: the repo's files, and .env copied from .env.example plus `extra`. */
function project(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-compose-'));
  for (const file of ['docker-compose.yml', 'Dockerfile', '.env.example']) copyFileSync(join(REPO, file), join(dir, file));
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

test('docker-compose config accepts the documented .env and wires server, PostgreSQL and agent together', { skip }, async (t) => {
  const token = 'c0ffee'.repeat(8);
  const dir = project(`POSTGRES_PASSWORD=pg-secret-1\nLATTICE_ADMIN_PASSWORD=admin-secret-1\nLATTICE_AGENT_JOIN_TOKEN=${token}\n`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = await composeConfig(dir);
  assert.ok(config.ok, config.ok ? '' : config.stderr);
  const { postgres, server, agent } = config.services;
  assert.ok(postgres && server && agent, `services: ${Object.keys(config.services).join(', ')}`);
  assert.equal(server.environment?.LATTICE_DB, 'postgres://lattice:pg-secret-1@postgres:5432/lattice');
  assert.equal(postgres.environment?.POSTGRES_PASSWORD, 'pg-secret-1');
  assert.equal(server.environment?.LATTICE_ADMIN_PASSWORD, 'admin-secret-1');
  assert.equal(server.environment?.LATTICE_AGENT_JOIN_TOKEN, token);
  assert.equal(agent.environment?.LATTICE_JOIN_TOKEN, token, 'the agent joins with the token the server accepts');
  assert.equal(server.depends_on?.postgres?.condition, 'service_healthy');
  assert.deepEqual(agent.command?.slice(0, 3), ['agent', '--server', 'http://127.0.0.1:8080']);
  assert.match(JSON.stringify(server.ports), /127\.0\.0\.1.*8080/, 'the API is published on loopback');
});

test('without the secrets in .env, docker-compose config refuses and says what to set', { skip }, async (t) => {
  const dir = project('');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = await composeConfig(dir);
  assert.equal(config.ok, false);
  assert.match(config.ok ? '' : config.stderr, /set (POSTGRES_PASSWORD|LATTICE_ADMIN_PASSWORD|LATTICE_AGENT_JOIN_TOKEN) in \.env/);
});
