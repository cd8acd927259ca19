// Contexts: `lattice login`, `logout`, `whoami` and `config …`.
import type { Command } from 'commander';
import { LatticeApiError, LatticeClient } from '../../client/api-client.ts';
import { nodeWebSocket } from '../../client/node-websocket.ts';
import { examples, print, sessionFor } from '../command-kit.ts';
import { configPath, readConfig, saveContext, selectContext, writeConfig, type Context } from '../context.ts';
import { CliError } from '../errors.ts';
import { formatTable } from '../output/table.ts';
import { openPrompter } from '../prompt.ts';

interface LoginOptions {
  server?: string;
  username?: string;
  token?: string;
  name?: string;
}

function normalizeServer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--server must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
  return url.origin;
}

/** The server of --server, or of the current context. */
function serverOf(options: { server?: string }): string {
  const config = readConfig();
  const previous = config.currentContext ? config.contexts[config.currentContext] : undefined;
  const serverText = options.server ?? previous?.server;
  if (!serverText) throw new CliError('--server URL is required (e.g. --server http://127.0.0.1:8080)');
  return normalizeServer(serverText);
}

/** Username (unless given) and password, asked for without echo, or read as lines from stdin. */
async function askCredentials(username: string | undefined): Promise<{ username: string; password: string }> {
  const prompter = openPrompter();
  try {
    const name = username ?? (await prompter.ask('Username: '));
    return { username: name, password: await prompter.ask('Password: ', { hidden: true }) };
  } finally {
    prompter.close();
  }
}

async function passwordContext(anonymous: LatticeClient, server: string, username: string, password: string): Promise<Context> {
  const pair = await anonymous.login(username, password).catch((error: unknown) => {
    if (error instanceof LatticeApiError && error.status === 401) {
      throw new CliError(`${error.body.message} (at ${server}); new here? create the user with \`lattice register --server ${server}\``);
    }
    throw error;
  });
  const who = await anonymous.withToken(pair.accessToken).whoami();
  return {
    server,
    token: pair.accessToken,
    refreshToken: pair.refreshToken,
    expiresAt: new Date(Date.now() + pair.expiresIn * 1000).toISOString(),
    username: who.username,
    ...(who.namespaces[0] ? { namespace: who.namespaces[0] } : {}),
  };
}

function saveLoggedIn(server: string, context: Context, name: string | undefined, command: Command): void {
  const globalContext = (command.optsWithGlobals() as { context?: string }).context;
  const contextName = name ?? globalContext ?? `${context.username}@${new URL(server).host}`;
  saveContext(contextName, context);
  print(`Logged in to ${server} as ${context.username}${context.namespace ? ` (namespace ${context.namespace})` : ''}.\nContext "${contextName}" is now current (${configPath()}).`);
}

async function login(options: LoginOptions, command: Command): Promise<void> {
  const server = serverOf(options);
  const anonymous = new LatticeClient({ server, webSocket: nodeWebSocket });
  let context: Context;
  if (options.token) {
    const who = await anonymous.withToken(options.token).whoami();
    context = { server, token: options.token, username: who.username, ...(who.namespaces[0] ? { namespace: who.namespaces[0] } : {}) };
  } else {
    const { username, password } = await askCredentials(options.username);
    context = await passwordContext(anonymous, server, username, password);
  }
  saveLoggedIn(server, context, options.name, command);
}

async function register(options: Omit<LoginOptions, 'token'>, command: Command): Promise<void> {
  const server = serverOf(options);
  const anonymous = new LatticeClient({ server, webSocket: nodeWebSocket });
  const { username, password } = await askCredentials(options.username);
  const registered = await anonymous.register(username, password).catch((error: unknown) => {
    if (error instanceof LatticeApiError && error.status === 409) throw new CliError(`${error.body.message} (at ${server}); if it is yours, \`lattice login --server ${server}\``);
    throw error;
  });
  print(`Registered ${registered.username} at ${server} (namespace ${registered.namespace}).`);
  saveLoggedIn(server, await passwordContext(anonymous, server, username, password), options.name, command);
}

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description('log in to a control plane and save the session as a context (the current one from now on)')
    .option('--server <url>', 'control plane URL (default: the server of the current context)')
    .option('-u, --username <name>', 'user to log in as (asked for when missing)')
    .option('--token <token>', 'use an API token (lat_…) instead of a password')
    .option('--name <context>', 'name of the context to save (default: USER@HOST:PORT)')
    .addHelpText(
      'after',
      `\nThe password is asked for without echo; without a terminal the username and password are read
as lines from stdin. Access tokens are refreshed transparently; an API token is used as is.
The config (mode 0600) is ${configPath()} (set LATTICE_CONFIG to use another file).
${examples('lattice login --server http://127.0.0.1:8080', "printf 'alice\\ncorrect-horse\\n' | lattice login --server http://127.0.0.1:8080", 'lattice login --server https://lattice.example.com --token lat_…  --name ci')}`,
    )
    .action(login);

  program
    .command('register')
    .description('create a user on a control plane (where registration is open), then log in as it')
    .option('--server <url>', 'control plane URL (default: the server of the current context)')
    .option('-u, --username <name>', 'the new user (asked for when missing)')
    .option('--name <context>', 'name of the context to save (default: USER@HOST:PORT)')
    .addHelpText(
      'after',
      `\nThe password is asked for without echo; without a terminal the username and password are read
as lines from stdin. The user gets a namespace of its own name.
${examples('lattice register --server http://127.0.0.1:8080', "printf 'alice\\ncorrect-horse\\n' | lattice register --server http://127.0.0.1:8080")}`,
    )
    .action(register);

  program
    .command('logout')
    .description("end the current context's session on the server and remove the context")
    .action(async (_options: unknown, command: Command) => {
      const session = await sessionFor(command);
      await session.client.logout(session.context.refreshToken).catch((error: unknown) => {
        // An API token has no session to end, and an ended session need not be ended again.
        if ((error as { status?: number }).status !== 401) throw error;
      });
      const config = readConfig();
      delete config.contexts[session.contextName];
      if (config.currentContext === session.contextName) delete config.currentContext;
      writeConfig(config);
      const apiToken = session.context.refreshToken === undefined;
      print(`Logged out; context "${session.contextName}" removed.${apiToken ? ' Its API token stays valid until it expires or is revoked.' : ''}`);
    });

  program
    .command('whoami')
    .description('show who the current context is logged in as, its namespaces and server')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (options: { output: string }, command: Command) => {
      const session = await sessionFor(command);
      const who = await session.client.whoami();
      if (options.output === 'json') return print(JSON.stringify({ ...who, context: session.contextName, server: session.context.server }, null, 2));
      if (options.output !== 'text') throw new CliError(`-o must be text or json, got ${JSON.stringify(options.output)}`);
      print(`${who.username} (${who.role}) in namespaces ${who.namespaces.join(', ') || '<none>'}\ncontext ${session.contextName}, server ${session.context.server}`);
    });

  const config = program
    .command('config')
    .description('manage CLI contexts (server + credentials), kept in $LATTICE_CONFIG or ~/.config/lattice/config.json')
    .addHelpText('after', examples('lattice config get-contexts', 'lattice config use-context alice@127.0.0.1:8080', 'lattice --context ci get workloads'));

  config
    .command('get-contexts')
    .description('list the contexts; * marks the current one')
    .action(() => {
      const { contexts, currentContext } = readConfig();
      const rows = Object.entries(contexts).map(([name, c]) => [name === currentContext ? '*' : '', name, c.server, c.username ?? '', c.namespace ?? c.username ?? '']);
      print(formatTable(['CURRENT', 'NAME', 'SERVER', 'USER', 'NAMESPACE'], rows));
    });

  config
    .command('current-context')
    .description('print the name of the current context')
    .action(() => {
      const { name } = selectContext(readConfig(), undefined);
      print(name);
    });

  config
    .command('use-context')
    .description('make a context the current one')
    .argument('<name>', 'a context name from get-contexts')
    .action((name: string) => {
      const current = readConfig();
      selectContext(current, name);
      current.currentContext = name;
      writeConfig(current);
      print(`Switched to context "${name}".`);
    });

  config
    .command('delete-context')
    .description('remove a context from the config (its tokens stay valid on the server until they expire; use logout to end a session)')
    .argument('<name>', 'a context name from get-contexts')
    .action((name: string) => {
      const current = readConfig();
      selectContext(current, name);
      delete current.contexts[name];
      if (current.currentContext === name) delete current.currentContext;
      writeConfig(current);
      print(`Deleted context "${name}".`);
    });
}
