import type { Command } from 'commander';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the control plane (API, watch, auth) on SQLite or PostgreSQL')
    .option('--listen <host:port>', 'address to listen on (env LATTICE_LISTEN)', process.env.LATTICE_LISTEN ?? '127.0.0.1:8080')
    .option('--db <url>', 'store: sqlite:./path.db or postgres://user@host:port/db (env LATTICE_DB)')
    .option('--advertise-url <url>', 'with several replicas: the URL the others reach this one at, e.g. http://server-a:8080 (env LATTICE_ADVERTISE_URL; default: the --listen address)')
    .action(async (options: { listen: string; db?: string; advertiseUrl?: string }) => {
      // Loaded here, not at the top: the client commands start faster without the server's modules.
      const [{ advertiseUrl, configFromEnv }, { closeOnSignals, parseListen, startServer }] = await Promise.all([import('../../controlplane/config.ts'), import('../../controlplane/server.ts')]);
      const config = configFromEnv(process.env);
      if (options.db) config.db = options.db;
      if (options.advertiseUrl) config.advertiseUrl = advertiseUrl('--advertise-url', options.advertiseUrl);
      const { app, url } = await startServer(parseListen(options.listen), config);
      closeOnSignals(app);
      app.log.info(`Lattice API serving at ${url}/api/v1 (store ${redactUrl(app.config.db)})`);
    });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
