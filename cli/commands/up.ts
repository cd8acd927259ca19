// `lattice up`: the whole system in one process on SQLite — control plane, reconciler and one
// shared local agent — for a laptop or a first look.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ALLOW_TENANT_HOST_NETWORK_HELP, ALLOW_TENANT_PROCESSES_HELP, dockerMode, dockerNetwork, NGROK_SERVER_ADDR_HELP, ngrokServerAddr, ngrokSettings } from './agent.ts';
import { lockDataDir } from '../../agent/data-dir-lock.ts';
import { ensureUiBuilt } from '../../ui/build.ts';
import { configPath, readConfig, saveContext } from '../context.ts';
import { VERSION } from '../version.ts';

interface AdminFile {
  username: string;
  password: string;
}

/** The admin's credentials, made up on the first `up` and kept (mode 0600) in the data dir. */
function adminCredentials(dataDir: string): AdminFile {
  const file = join(dataDir, 'admin.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as AdminFile;
  const admin = { username: 'admin', password: randomBytes(12).toString('base64url') };
  writeFileSync(file, JSON.stringify(admin), { mode: 0o600 });
  return admin;
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start the control plane, the reconciler and a local agent in one process (SQLite)')
    .option('--listen <host:port>', 'API address', process.env.LATTICE_LISTEN ?? '127.0.0.1:8080')
    .option('--data-dir <dir>', 'where the database, the agent and its workloads keep their state', process.env.LATTICE_DATA_DIR ?? './.lattice')
    .option('--docker <auto|off>', 'auto: its agent runs images with Docker when an engine answers (env LATTICE_DOCKER)', dockerMode, process.env.LATTICE_DOCKER ?? 'auto')
    .option('--docker-network <auto|bridge|host>', "passed to its agent: published ports (bridge) or this machine's network (host) (env LATTICE_DOCKER_NETWORK)", dockerNetwork, process.env.LATTICE_DOCKER_NETWORK ?? 'auto')
    .option('--ngrok-server-addr <host:port>', `passed to its agent: ${NGROK_SERVER_ADDR_HELP}`, ngrokServerAddr, process.env.NGROK_SERVER_ADDR)
    .option('--allow-tenant-processes', `passed to its agent (the admin's): ${ALLOW_TENANT_PROCESSES_HELP}`, process.env.LATTICE_ALLOW_TENANT_PROCESSES === 'true')
    .option('--allow-tenant-host-network', `passed to its agent: ${ALLOW_TENANT_HOST_NETWORK_HELP}`, process.env.LATTICE_ALLOW_TENANT_HOST_NETWORK === 'true')
    .action(async (options: { listen: string; dataDir: string; docker: 'auto' | 'off'; dockerNetwork: 'auto' | 'bridge' | 'host'; ngrokServerAddr?: string; allowTenantProcesses: boolean; allowTenantHostNetwork: boolean }) => {
      // The web UI is built once (and again after its sources change); not part of "up in N ms".
      const building = performance.now();
      if ((await ensureUiBuilt()) === 'built') console.log(`Built the web UI (ui/dist was missing or stale) in ${Math.round(performance.now() - building)} ms`);
      const started = performance.now();
      // Loaded here, not at the top: the client commands start faster without the server's modules.
      const [{ startAgent }, { configFromEnv }, { parseListen, startServer }] = await Promise.all([
        import('../../agent/start-agent.ts'),
        import('../../controlplane/config.ts'),
        import('../../controlplane/server.ts'),
      ]);
      const dataDir = resolve(options.dataDir);
      const fresh = !existsSync(dataDir);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      // Before the database is opened: another `up` (or an agent) on this directory is refused here.
      lockDataDir(join(dataDir, 'agent'));
      const admin = adminCredentials(dataDir);
      const { app, url } = await startServer(parseListen(options.listen), {
        ...configFromEnv(process.env),
        db: `sqlite:${join(dataDir, 'lattice.db')}`,
        bootstrapAdmin: admin,
        logger: false,
      }).catch((error: unknown) => {
        // A first start that could not serve leaves nothing behind (no admin nobody saw, no database).
        if (fresh) rmSync(dataDir, { recursive: true, force: true });
        throw error;
      });
      // In this process: the admin's credentials would only be checked against themselves.
      const principal = await app.auth.principalOf(admin.username);
      const { token: joinToken } = await app.agentRegistry.createJoinToken(principal, 1);
      const heartbeatSeconds = Number(process.env.LATTICE_AGENT_HEARTBEAT ?? '5');
      if (!(heartbeatSeconds > 0)) throw new Error(`LATTICE_AGENT_HEARTBEAT must be a positive number of seconds, got ${JSON.stringify(process.env.LATTICE_AGENT_HEARTBEAT)}`);
      const agent = await startAgent({
        server: url,
        name: 'local',
        dataDir: join(dataDir, 'agent'),
        joinToken,
        version: VERSION,
        advertiseAddress: '127.0.0.1',
        heartbeatMs: heartbeatSeconds * 1000,
        docker: options.docker,
        dockerNetwork: options.dockerNetwork,
        allowTenantProcesses: options.allowTenantProcesses,
        allowTenantHostNetwork: options.allowTenantHostNetwork,
        ...ngrokSettings(options.ngrokServerAddr),
      });
      await agent.connected;
      const { token } = await app.auth.createApiToken(principal, `lattice up ${Date.now()}`, undefined);
      const previous = readConfig().currentContext;
      saveContext('local', { server: url, token, username: admin.username, namespace: admin.username });
      const switched = previous && previous !== 'local' ? `, now the current one (it was "${previous}": \`lattice config use-context ${previous}\` goes back)` : '';
      console.log(`Lattice is up in ${Math.round(performance.now() - started)} ms
  UI       ${url}/   (sign in as the admin below, or with the context's token)
  API      ${url}/api/v1
  admin    ${admin.username} / ${admin.password}   (kept in ${join(dataDir, 'admin.json')})
  agent    local (${agent.runtimes.join(' and ')} runtime${agent.runtimes.length > 1 ? 's' : ''}), shared by every tenant; ${options.allowTenantProcesses ? "every tenant's processes too (--allow-tenant-processes)" : `processes for ${admin.username} only`}
  context  "local" written to ${configPath()}${switched}
Apply something:  npx lattice apply -f examples/hello.yaml --wait`);
      let stopping = false;
      const shutdown = () => {
        if (stopping) return;
        stopping = true;
        // Workloads keep running: the next `lattice up` adopts them.
        void agent.stop().then(() => app.close()).then(() => process.exit(0));
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
