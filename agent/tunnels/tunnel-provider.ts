// What a tunnel service must offer: open a public URL that forwards to a port on this machine,
// and close it: the control plane's built-in relay (relay-provider.ts) or ngrok (ngrok-provider.ts).

export interface TunnelTarget {
  /** tcp forwards raw TCP (e.g. PostgreSQL); http terminates HTTP(S) at the service. */
  protocol: 'tcp' | 'http';
  /** Where the instance listens on this machine (loopback). */
  host: string;
  port: number;
  /** Which instance port it is: the relay keeps one public port per instance port. */
  instanceUid: string;
  portName: string;
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
  /** Ends what the provider itself holds open (the relay's connection), as the agent stops. */
  close?(): void;
}

/**
 * The service is not offered at all (the control plane runs no relay), as opposed to failing:
 * TunnelReady says TunnelUnavailable. The tunnel is still retried, in case it is turned on.
 */
export class TunnelUnavailableError extends Error {}
