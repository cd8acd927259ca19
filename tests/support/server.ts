// Starts the real control plane on a loopback port over a fresh store for one test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LatticeClient } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import { build } from '../../controlplane/app.ts';
import type { ConfigOverrides } from '../../controlplane/config.ts';
import { createDatabaseOn } from './postgres.ts';

export interface TestServer {
  app: FastifyInstance;
  url: string;
  /** A client without a token. */
  client: LatticeClient;
  /** Registers and logs in a user; returns a client carrying its access token. */
  user(username: string, password?: string): Promise<{ client: LatticeClient; refreshToken: string; accessToken: string }>;
  admin(): Promise<LatticeClient>;
}

export const ADMIN = { username: 'root-admin', password: 'admin-password-1' };

interface TestContext {
  after(fn: () => Promise<void> | void): void;
}

/**
 * A new SQLite file in dir, or with LATTICE_TEST_POSTGRES (the URL of a PostgreSQL server's
 * `postgres` database; `npm run test:postgres` sets it) a new database there: the server then
 * runs as one replica on PostgreSQL, leader lease and all.
 */
export async function freshDatabase(dir: string): Promise<string> {
  const server = process.env.LATTICE_TEST_POSTGRES;
  return server ? createDatabaseOn(server) : `sqlite:${join(dir, 'lattice.db')}`;
}

export async function startTestServer(t: TestContext, config: ConfigOverrides = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-api-'));
  const app = await build({
    config: {
      db: await freshDatabase(dir),
      logger: false,
      // Real bcrypt at its lowest cost: the tests log in a lot, and cost is not what they test.
      bcryptCost: 4,
      bootstrapAdmin: ADMIN,
      // Tests register many users from 127.0.0.1; the limit itself has its own test.
      registrationsPerAddressPerHour: 10_000,
      // API tests see objects exactly as written; tests of the loop turn the controllers on.
      reconciler: false,
      ...config,
    },
  });
  t.after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const client = new LatticeClient({ server: url, webSocket: nodeWebSocket });
  const login = async (username: string, password: string) => {
    const tokens = await client.login(username, password);
    return { client: client.withToken(tokens.accessToken), refreshToken: tokens.refreshToken, accessToken: tokens.accessToken };
  };
  return {
    app,
    url,
    client,
    async user(username, password = `${username}-password`) {
      await client.register(username, password);
      return login(username, password);
    },
    async admin() {
      return (await login(ADMIN.username, ADMIN.password)).client;
    },
  };
}

/** A raw HTTP request, for tests that send what no client would. */
export async function rawRequest(url: string, init: { method?: string; path: string; token?: string; contentType?: string; body?: string | Buffer; headers?: Record<string, string> }) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.contentType) headers['content-type'] = init.contentType;
  const response = await fetch(`${url}${init.path}`, { method: init.method ?? 'GET', headers, body: init.body as BodyInit | undefined });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: body as { code?: number; reason?: string; message?: string; details?: { path: string; message: string }[] } & Record<string, unknown> };
}
