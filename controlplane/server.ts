// The entry point: build the app, listen, and shut down gracefully on SIGTERM/SIGINT.
import type { FastifyInstance } from 'fastify';
import { build } from './app.ts';
import type { ConfigOverrides } from './config.ts';
import { tuneHeapForControlPlane } from './heap-tuning.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`--listen must be HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2]!, port };
}

export async function startServer(listen: ListenAddress, config: ConfigOverrides): Promise<{ app: FastifyInstance; url: string }> {
  tuneHeapForControlPlane();
  const app = await build({ config });
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  try {
    await app.listen(listen);
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `cannot listen on ${host}:${listen.port}: the port is in use (another \`lattice up\` or \`lattice server\`?); choose another with --listen HOST:PORT or LATTICE_LISTEN, e.g. \`npm start -- --listen ${host}:${listen.port + 1}\``,
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  return { app, url: `http://${host}:${port}` };
}

/** Stops accepting requests, closes watches and the store, then exits. */
export function closeOnSignals(app: FastifyInstance): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
