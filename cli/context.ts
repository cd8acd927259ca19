// The CLI's config: named contexts (server + token), one current. Kept at
// ~/.config/lattice/config.json (or LATTICE_CONFIG), readable by the owner only.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Context {
  server: string;
  token: string;
  username?: string;
}

export interface CliConfig {
  currentContext?: string;
  contexts: Record<string, Context>;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.LATTICE_CONFIG ?? join(homedir(), '.config', 'lattice', 'config.json');
}

export function readConfig(path = configPath()): CliConfig {
  if (!existsSync(path)) return { contexts: {} };
  return JSON.parse(readFileSync(path, 'utf8')) as CliConfig;
}

export function saveContext(name: string, context: Context, path = configPath()): void {
  const config = readConfig(path);
  config.contexts[name] = context;
  config.currentContext = name;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The named context, or the current one; an error that says how to get one otherwise. */
export function resolveContext(name?: string, path = configPath()): Context {
  const config = readConfig(path);
  const chosen = name ?? config.currentContext;
  const context = chosen ? config.contexts[chosen] : undefined;
  if (!context) throw new Error(`no CLI context ${chosen ? JSON.stringify(chosen) : 'selected'} in ${path}: run \`lattice up\` or log in first`);
  return context;
}
