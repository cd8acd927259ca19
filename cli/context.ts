// The CLI's config: named contexts (server + credentials), one current. Kept at
// ~/.config/lattice/config.json (or LATTICE_CONFIG), readable by the owner only.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.ts';

export interface Context {
  server: string;
  /** An access token (from `lattice login`) or an API token (`--token`, `lattice up`). */
  token: string;
  /** With an access token: rotated on every refresh. */
  refreshToken?: string;
  /** When the access token expires (ISO time); refreshed shortly before. */
  expiresAt?: string;
  username?: string;
  /** The default namespace of commands run in this context (the user's own). */
  namespace?: string;
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
  let config: CliConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as CliConfig;
  } catch (error) {
    throw new CliError(`the CLI config ${path} is not valid JSON (${(error as Error).message}); fix or remove it, then log in again`);
  }
  return { ...config, contexts: config.contexts ?? {} };
}

/** Written whole to a temporary file, then renamed: a reader never sees half a file. */
export function writeConfig(config: CliConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Adds or replaces a context and makes it the current one. */
export function saveContext(name: string, context: Context, path = configPath()): void {
  const config = readConfig(path);
  config.contexts[name] = context;
  config.currentContext = name;
  writeConfig(config, path);
}

/** The context named, or the current one; a CliError that says what to do when there is none. */
export function selectContext(config: CliConfig, name: string | undefined, path = configPath()): { name: string; context: Context } {
  const chosen = name ?? config.currentContext;
  if (!chosen) throw new CliError(`no current context in ${path}: log in with \`lattice login --server URL\` (or start \`lattice up\`)`);
  const context = config.contexts[chosen];
  if (!context) {
    const known = Object.keys(config.contexts);
    throw new CliError(`no context ${JSON.stringify(chosen)} in ${path}${known.length ? `; known: ${known.join(', ')}` : ''}: log in with \`lattice login --server URL\``);
  }
  return { name: chosen, context };
}
