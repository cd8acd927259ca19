// What a tunnel service must offer: open a public URL that forwards to a port on this machine,
// and close it. ngrok is the one provided (ngrok-provider.ts); another service fits behind this.

export interface TunnelTarget {
  /** tcp forwards raw TCP (e.g. PostgreSQL); http terminates HTTP(S) at the service. */
  protocol: 'tcp' | 'http';
  /** Where the instance listens on this machine (loopback). */
  host: string;
  port: number;
  /** For the service's dashboard, e.g. "alice/postgres-5f2c1-a1b2c3 port postgres". */
  description: string;
}

export interface Tunnel {
  /** The public URL, e.g. tcp://0.tcp.eu.ngrok.io:12345 or https://abc.ngrok.app. */
  readonly url: string;
  close(): Promise<void>;
}

export interface TunnelProvider {
  readonly name: string;
  /** Rejects with the service's own reason (no network, bad token, quota reached…). */
  open(target: TunnelTarget): Promise<Tunnel>;
}
