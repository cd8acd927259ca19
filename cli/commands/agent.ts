import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { examples, print, sessionFor } from '../command-kit.ts';
import { age } from '../duration.ts';
import { formatTable } from '../output/table.ts';
import { VERSION } from '../version.ts';

function parseLabels(value: string, previous: Record<string, string> = {}): Record<string, string> {
  for (const pair of value.split(',').filter(Boolean)) {
    const [key, ...rest] = pair.split('=');
    if (!key || rest.length === 0) throw new Error(`--labels takes key=value pairs, got ${JSON.stringify(pair)}`);
    previous[key.trim()] = rest.join('=').trim();
  }
  return previous;
}

export function dockerMode(value: string): 'auto' | 'off' {
  if (value !== 'auto' && value !== 'off') throw new Error(`--docker takes auto or off, got ${JSON.stringify(value)}`);
  return value;
}

export function dockerNetwork(value: string): 'auto' | 'bridge' | 'host' {
  if (value !== 'auto' && value !== 'bridge' && value !== 'host') throw new Error(`--docker-network takes auto, bridge or host, got ${JSON.stringify(value)}`);
  return value;
}

export function ngrokServerAddr(value: string): string {
  const port = /^(?:\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(value)?.[1];
  if (!port || Number(port) < 1 || Number(port) > 65535) throw new Error(`--ngrok-server-addr (or NGROK_SERVER_ADDR) takes host:port, got ${JSON.stringify(value)}`);
  return value;
}

export const ALLOW_TENANT_PROCESSES_HELP =
  "run every tenant's process workloads, not only the owner's: they run as this agent's OS user, with no isolation from it or from each other (env LATTICE_ALLOW_TENANT_PROCESSES=true)";

export const ALLOW_TENANT_HOST_NETWORK_HELP =
  "with host networking, run every tenant's containers, not only the owner's: they share this machine's network, loopback included (env LATTICE_ALLOW_TENANT_HOST_NETWORK=true)";

export const NGROK_SERVER_ADDR_HELP = "host:port of the ngrok edge tunnels dial instead of ngrok's public one, e.g. a self-hosted ingress (env NGROK_SERVER_ADDR)";

/** The agent's ngrok settings: the token from the environment only (never a flag, so it stays out of `ps`). */
export function ngrokSettings(serverAddr: string | undefined): { ngrokAuthtoken?: string; ngrokServerAddr?: string } {
  return {
    ...(process.env.NGROK_AUTHTOKEN ? { ngrokAuthtoken: process.env.NGROK_AUTHTOKEN } : {}),
    // A default taken from the environment does not go through commander's parser.
    ...(serverAddr ? { ngrokServerAddr: ngrokServerAddr(serverAddr) } : {}),
  };
}

/** --data-dir, or a directory of the agent's own per name (never `lattice up`'s ./.lattice/agent). */
function agentDataDir(options: { dataDir?: string; name: string }): string {
  return options.dataDir ?? join('.lattice', 'agents', options.name);
}

export function registerAgentCommand(program: Command): void {
  const agent = program
    .command('agent')
    .description('run an agent on this machine: it joins the control plane and runs what is scheduled here')
    .option('--server <url,...>', "control plane URL (a server or a load balancer), or the URLs of several replicas of one cluster separated by commas, tried in turn when a connection drops; the first one names the cluster: the credential is kept under it, so keep it first (env LATTICE_SERVER)", process.env.LATTICE_SERVER)
    .option('--join-token <token>', 'join token, needed on first start (env LATTICE_JOIN_TOKEN)', process.env.LATTICE_JOIN_TOKEN)
    .option('--name <name>', 'agent name (env LATTICE_AGENT_NAME)', process.env.LATTICE_AGENT_NAME ?? hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-'))
    .option('--labels <k=v,...>', 'labels for placement.agentSelector', parseLabels)
    .option('--data-dir <dir>', 'where the credential, logs and instance state live; one agent per directory (env LATTICE_AGENT_DATA_DIR; default ./.lattice/agents/NAME)', process.env.LATTICE_AGENT_DATA_DIR)
    .option('--advertise-address <addr>', 'address host endpoints are reported with', process.env.LATTICE_ADVERTISE_ADDRESS ?? '127.0.0.1')
    .option('--docker <auto|off>', 'auto: run images with Docker when DOCKER_HOST or /var/run/docker.sock answers; off: processes only (env LATTICE_DOCKER)', dockerMode, process.env.LATTICE_DOCKER ?? 'auto')
    .option('--docker-network <auto|bridge|host>', 'containers publish their ports (bridge) or share this machine\'s network (host); auto: bridge when the engine has one (env LATTICE_DOCKER_NETWORK)', dockerNetwork, process.env.LATTICE_DOCKER_NETWORK ?? 'auto')
    .option('--heartbeat-seconds <n>', 'heartbeat interval; keep it well under the server grace period (env LATTICE_AGENT_HEARTBEAT)', process.env.LATTICE_AGENT_HEARTBEAT ?? '5')
    .option('--stats-seconds <n>', "how often instances' CPU and memory are sampled for the dashboard's charts; 15 minutes are kept (env LATTICE_AGENT_STATS_SECONDS)", process.env.LATTICE_AGENT_STATS_SECONDS ?? '5')
    .option('--ngrok-server-addr <host:port>', NGROK_SERVER_ADDR_HELP, ngrokServerAddr, process.env.NGROK_SERVER_ADDR)
    .option('--allow-tenant-processes', ALLOW_TENANT_PROCESSES_HELP, process.env.LATTICE_ALLOW_TENANT_PROCESSES === 'true')
    .option('--allow-tenant-host-network', ALLOW_TENANT_HOST_NETWORK_HELP, process.env.LATTICE_ALLOW_TENANT_HOST_NETWORK === 'true')
    .action(async (options: { server?: string; joinToken?: string; name: string; labels?: Record<string, string>; dataDir?: string; advertiseAddress: string; heartbeatSeconds: string; statsSeconds: string; docker: 'auto' | 'off'; dockerNetwork: 'auto' | 'bridge' | 'host'; ngrokServerAddr?: string; allowTenantProcesses: boolean; allowTenantHostNetwork: boolean }) => {
      if (!options.server) throw new Error('--server is required (or LATTICE_SERVER)');
      const statsSeconds = Number(options.statsSeconds);
      if (!(statsSeconds >= 0.5 && statsSeconds <= 300)) throw new Error(`--stats-seconds must be a number of seconds from 0.5 to 300, got ${JSON.stringify(options.statsSeconds)}`);
      const heartbeat = Number(options.heartbeatSeconds);
      if (!(heartbeat > 0 && heartbeat <= 3600)) throw new Error(`--heartbeat-seconds must be a number of seconds from 0.1 to 3600, got ${JSON.stringify(options.heartbeatSeconds)}`);
      // Loaded here, not at the top: every other command starts faster without the agent's modules.
      const { startAgent } = await import('../../agent/start-agent.ts');
      const { ngrokServerAddr, ...rest } = options;
      const daemon = await startAgent({
        ...rest,
        dataDir: agentDataDir(options),
        server: options.server,
        version: VERSION,
        heartbeatMs: heartbeat * 1000,
        statsIntervalMs: statsSeconds * 1000,
        ...ngrokSettings(ngrokServerAddr),
        log: (m) => console.log(m),
      });
      const shutdown = () => void daemon.stop().then(() => process.exit(0));
      void daemon.revoked.then(() => daemon.stop()).then(() => process.exit(1));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });

  agent
    .command('rotate')
    .description("replace this agent's credential with a new one; the old one stops working at once (run it on the agent's machine, e.g. after the Agent shows SecondConnection)")
    .addHelpText('after', examples('lattice agent rotate --data-dir /var/lib/lattice/agent   # the agent\'s --data-dir (env LATTICE_AGENT_DATA_DIR)'))
    .action(async (_options: unknown, command: Command) => {
      const { rotateCredential } = await import('../../agent/join.ts');
      // --data-dir is `lattice agent`'s own option, read wherever it was given.
      const rotated = await rotateCredential(agentDataDir(command.optsWithGlobals() as { dataDir?: string; name: string }));
      print(`agent ${rotated.name}: credential rotated; the previous one is revoked (a running agent reconnects with the new one)`);
    });

  const token = agent
    .command('token')
    .description('join tokens: an agent starts once with one, then keeps its own credential')
    .addHelpText('after', examples('lattice agent token create --expires-in-hours 1', 'lattice agent token list', 'lattice agent token revoke <id>'));

  token
    .command('create')
    .description("create a join token (shown once): a user's makes private agents, an admin's shared ones")
    .option('--expires-in-hours <n>', 'how long it stays valid (1 to 8760)', '24')
    .action(async (options: { expiresInHours: string }, command: Command) => {
      const session = await sessionFor(command);
      const created = await session.client.createJoinToken(Number(options.expiresInHours));
      print(`join token (${created.scope} agents, valid until ${created.expiresAt}):\n${created.token}\n\nstart an agent with:\n  lattice agent --server ${session.context.server} --join-token ${created.token} --name <name>`);
    });

  token
    .command('list')
    .description('list your join tokens (ids and expiry; the tokens themselves are never shown again)')
    .action(async (_options: unknown, command: Command) => {
      const session = await sessionFor(command);
      const { items } = await session.client.listJoinTokens();
      if (items.length === 0) return void process.stderr.write('No join tokens.\n');
      const now = Date.now();
      const rows = items.map((t) => [t.id, t.scope, age(t.createdAt, now), t.expiresAt, Date.parse(t.expiresAt) <= now ? 'Expired' : 'Valid']);
      print(formatTable(['ID', 'SCOPE', 'AGE', 'EXPIRES', 'STATUS'], rows));
    });

  token
    .command('revoke')
    .description('revoke a join token: no new agent can join with it (agents that joined keep their credential)')
    .argument('<id>', 'the ID from `lattice agent token list`, or the whole token')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = await sessionFor(command);
      // A whole token (ljt_<id>.<secret>) names its id too.
      const tokenId = /^ljt_(.+)\.[^.]+$/.exec(id)?.[1] ?? id;
      await session.client.revokeJoinToken(tokenId);
      print(`join token ${tokenId} revoked`);
    });
}
