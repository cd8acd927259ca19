// Tunnels through ngrok (@ngrok/ngrok, loaded only when a token is configured): tcp ports become
// tcp://…ngrok.io:N, http ports https://….ngrok.app.
import type { Tunnel, TunnelProvider, TunnelTarget } from './tunnel-provider.ts';

export interface NgrokOptions {
  authtoken: string;
  /**
   * host:port of the ngrok edge the session dials (NGROK_SERVER_ADDR); ngrok's public edge when
   * absent. A self-hosted ingress sets it, and tests point it at loopback so nothing leaves the
   * machine.
   */
  serverAddr?: string;
}

export class NgrokProvider implements TunnelProvider {
  readonly name = 'ngrok';

  constructor(private readonly options: NgrokOptions) {}

  async open(target: TunnelTarget): Promise<Tunnel> {
    const { forward } = await import('@ngrok/ngrok');
    const listener = await forward({
      addr: `${target.host}:${target.port}`,
      authtoken: this.options.authtoken,
      ...(this.options.serverAddr ? { server_addr: this.options.serverAddr } : {}),
      proto: target.protocol,
      metadata: target.description,
    });
    const url = listener.url();
    if (!url) {
      await listener.close();
      throw new Error('ngrok opened a tunnel without a URL');
    }
    return { url, close: () => listener.close() };
  }
}
