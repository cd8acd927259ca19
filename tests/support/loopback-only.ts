// Tests send traffic to loopback only. A lattice agent holding an ngrok token dials ngrok's public
// edge unless NGROK_SERVER_ADDR (or --ngrok-server-addr) names another one, so the harnesses that
// spawn lattice processes refuse one that would leave the machine, and tests that exercise the
// ngrok provider point it at ngrokEdgeStandIn(): the real SDK then fails the real way, on loopback.
import { isIP, createServer } from 'node:net';

interface TestContext {
  after(fn: () => Promise<void> | void): void;
}

/** An IP literal on loopback (127.0.0.0/8, ::1); a name is refused, since resolving it is a DNS query. */
export function isLoopbackHostPort(address: string): boolean {
  const host = /^\[([^\]]+)\]:\d+$/.exec(address)?.[1] ?? /^([^:]+):\d+$/.exec(address)?.[1];
  if (!host) return false;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

/** Throws unless `lattice args…` with this environment keeps its ngrok sessions (if any) on loopback. */
export function assertStaysOnLoopback(args: readonly string[], env: NodeJS.ProcessEnv): void {
  if (!env.NGROK_AUTHTOKEN) return;
  const flag = args.findIndex((arg) => arg === '--ngrok-server-addr' || arg.startsWith('--ngrok-server-addr='));
  const fromFlag = flag < 0 ? undefined : args[flag]!.includes('=') ? args[flag]!.slice(args[flag]!.indexOf('=') + 1) : args[flag + 1];
  const edge = fromFlag ?? env.NGROK_SERVER_ADDR;
  if (edge && isLoopbackHostPort(edge)) return;
  throw new Error(
    `refusing to start \`lattice ${args[0] ?? ''}\` with NGROK_AUTHTOKEN set and the ngrok edge at ${edge ? JSON.stringify(edge) : "ngrok's public address"}: ` +
      'tests send traffic to loopback only; set NGROK_SERVER_ADDR to ngrokEdgeStandIn() (tests/support/loopback-only.ts), or unset NGROK_AUTHTOKEN',
  );
}

export interface NgrokEdgeStandIn {
  /** host:port, for NGROK_SERVER_ADDR. */
  address: string;
  /** Connections it has taken so far. */
  dialled(): number;
}

/**
 * A loopback listener that accepts each connection and closes it: an ngrok edge that never
 * completes a TLS handshake ("failed to connect session: tls handshake error"). Closed after the test.
 */
export async function ngrokEdgeStandIn(t: TestContext): Promise<NgrokEdgeStandIn> {
  let dialled = 0;
  const server = createServer((socket) => {
    dialled += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, dialled: () => dialled };
}
