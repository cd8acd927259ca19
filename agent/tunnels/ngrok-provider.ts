// Tunnels through ngrok (@ngrok/ngrok, loaded only when a token is configured): tcp ports become
// tcp://…ngrok.io:N, http ports https://….ngrok.app.
import type { Tunnel, TunnelProvider, TunnelTarget } from './tunnel-provider.ts';

export class NgrokProvider implements TunnelProvider {
  readonly name = 'ngrok';

  constructor(private readonly authtoken: string) {}

  async open(target: TunnelTarget): Promise<Tunnel> {
    const { forward } = await import('@ngrok/ngrok');
    const listener = await forward({
      addr: `${target.host}:${target.port}`,
      authtoken: this.authtoken,
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
