// Registration with a join token, and the credential kept in the agent's data dir so a
// restarted agent reconnects as itself.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentCredential {
  server: string;
  name: string;
  token: string;
}

const FILE = 'credential.json';

export function loadCredential(dataDir: string, server: string, name: string): AgentCredential | undefined {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return undefined;
  const credential = JSON.parse(readFileSync(file, 'utf8')) as AgentCredential;
  return credential.server === server && credential.name === name ? credential : undefined;
}

export async function register(server: string, joinToken: string, name: string, labels: Record<string, string>, dataDir: string): Promise<AgentCredential> {
  const response = await fetch(`${server}/api/v1/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken, name, labels }),
  });
  const body = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !body.token) throw new Error(`registration refused (${response.status}): ${body.message ?? 'no reason given'}`);
  const credential = { server, name, token: body.token };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, FILE);
  writeFileSync(file, JSON.stringify(credential), { mode: 0o600 });
  chmodSync(file, 0o600);
  return credential;
}
