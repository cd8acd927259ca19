// The typed Lattice API client: fetch for requests, a WebSocket for watches. Written once for
// Node and the browser: pass a WebSocket implementation where there is no global one (Node 20).
import type {
  ApplyResult,
  ErrorBody,
  JoinTokenCreated,
  JoinTokenList,
  ObjectList,
  ServedLatticeObject,
  TokenPair,
  WatchMessage,
  WhoAmI,
  WorkloadHistory,
  WorkloadStats,
} from '../schemas/types.gen.ts';

export class LatticeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(`${status} ${body.reason}: ${body.message}`);
    this.name = 'LatticeApiError';
  }
}

/** The subset of the WebSocket API the client uses (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: 'open', listener: () => void): void;
}

/** Opens a WebSocket; Node passes the token as a header, a browser in the query. */
export type WebSocketFactory = (url: string, token: string | undefined) => WebSocketLike;

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  server: string;
  token?: string;
  webSocket?: WebSocketFactory;
  fetch?: typeof fetch;
  /**
   * Called when a request is refused with 401: return a fresh token (e.g. after refreshing a
   * session) and the request is sent once more with it, as is every later one.
   */
  onUnauthorized?: () => Promise<string | undefined>;
}

export interface ApplyParams {
  dryRun?: boolean;
  ifRevision?: number;
  applySet?: string;
  prune?: boolean;
}

export interface LogParams {
  follow?: boolean;
  tail?: number;
  /** One instance's log (by name); all of the workload's instances by default. */
  instance?: string;
  /** The run before the last restart. */
  previous?: boolean;
}

export interface WatchParams {
  kind?: string;
  namespace?: string;
  labelSelector?: string;
  resourceVersion?: string;
}

export interface WatchStream extends AsyncIterable<WatchMessage> {
  close(): void;
  /** Resolves true once the socket is open, false if it closed (or failed) before opening. */
  readonly opened: Promise<boolean>;
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

type Query = Record<string, string | number | boolean | undefined>;

export class LatticeClient {
  private readonly fetchImpl: typeof fetch;
  private token: string | undefined;

  constructor(readonly options: ClientOptions) {
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.token = options.token;
  }

  withToken(token: string): LatticeClient {
    return new LatticeClient({ ...this.options, token });
  }

  url(path: string, query: Query = {}): string {
    const url = new URL(`/api/v1${path}`, this.options.server);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  async request<T>(method: string, path: string, init: { query?: Query; body?: unknown; contentType?: string } = {}): Promise<T> {
    const send = () => {
      const headers: Record<string, string> = {};
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        headers['content-type'] = init.contentType ?? 'application/json';
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      }
      return this.fetchImpl(this.url(path, init.query), { method, headers, body });
    };
    let response = await send();
    if (response.status === 401 && this.token && this.options.onUnauthorized) {
      const fresh = await this.options.onUnauthorized();
      if (fresh && fresh !== this.token) {
        this.token = fresh;
        response = await send();
      }
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
    if (!response.ok) {
      throw new LatticeApiError(response.status, (parsed as ErrorBody) ?? { code: response.status, reason: 'Unknown', message: response.statusText, details: [] });
    }
    return parsed as T;
  }

  register(username: string, password: string): Promise<{ username: string; namespace: string }> {
    return this.request('POST', '/auth/register', { body: { username, password } });
  }

  login(username: string, password: string): Promise<TokenPair> {
    return this.request('POST', '/auth/login', { body: { username, password } });
  }

  refresh(refreshToken: string): Promise<TokenPair> {
    return this.request('POST', '/auth/refresh', { body: { refreshToken } });
  }

  logout(refreshToken?: string): Promise<void> {
    return this.request('POST', '/auth/logout', { body: refreshToken ? { refreshToken } : {} });
  }

  whoami(): Promise<WhoAmI> {
    return this.request('GET', '/auth/whoami');
  }

  /** Join tokens for agents: a user's makes private agents, an admin's shared ones. */
  createJoinToken(expiresInHours?: number): Promise<JoinTokenCreated> {
    return this.request('POST', '/auth/join-tokens', { body: expiresInHours === undefined ? {} : { expiresInHours } });
  }

  listJoinTokens(): Promise<JoinTokenList> {
    return this.request('GET', '/auth/join-tokens');
  }

  revokeJoinToken(id: string): Promise<void> {
    return this.request('DELETE', `/auth/join-tokens/${encodeURIComponent(id)}`);
  }

  /** A Workload's spec by generation, oldest first. */
  history(namespace: string, name: string): Promise<WorkloadHistory> {
    return this.request('GET', `/namespaces/${namespace}/workloads/${name}/history`);
  }

  /** YAML text (multi-document) or objects. */
  apply(manifests: string | readonly object[], params: ApplyParams = {}): Promise<ApplyResult> {
    const yaml = typeof manifests === 'string';
    return this.request('POST', '/apply', { query: { ...params }, body: manifests, contentType: yaml ? 'application/yaml' : 'application/json' });
  }

  get<T = ServedLatticeObject>(plural: string, namespace: string | undefined, name: string, query: Query = {}): Promise<T> {
    return this.request('GET', namespace ? `/namespaces/${namespace}/${plural}/${name}` : `/${plural}/${name}`, { query });
  }

  /** T: the kind listed (ServedWorkload for workloads, …). */
  list<T = ServedLatticeObject>(plural: string, options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}): Promise<Omit<ObjectList, 'items'> & { items: T[] }> {
    const path = options.namespace ? `/namespaces/${options.namespace}/${plural}` : `/${plural}`;
    return this.request('GET', path, { query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector } });
  }

  put<T = ServedLatticeObject>(plural: string, namespace: string, name: string, object: object): Promise<T> {
    return this.request('PUT', `/namespaces/${namespace}/${plural}/${name}`, { body: object });
  }

  /** namespace undefined: a cluster-scoped object (an Agent). */
  delete<T = ServedLatticeObject>(plural: string, namespace: string | undefined, name: string, resourceVersion?: string): Promise<T> {
    return this.request('DELETE', namespace ? `/namespaces/${namespace}/${plural}/${name}` : `/${plural}/${name}`, { query: { resourceVersion } });
  }

  /**
   * A workload's log from the agents, as chunks of text (whole lines); with follow it goes on
   * until the instance stops or signal aborts.
   */
  async *logs(namespace: string, name: string, params: LogParams = {}, signal?: AbortSignal): AsyncGenerator<string> {
    const send = () => {
      const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
      return this.fetchImpl(this.url(`/namespaces/${namespace}/workloads/${name}/logs`, { ...params }), { headers, ...(signal ? { signal } : {}) });
    };
    let response = await send();
    // An expired access token: refreshed like request()'s.
    if (response.status === 401 && this.token && this.options.onUnauthorized) {
      const fresh = await this.options.onUnauthorized();
      if (fresh && fresh !== this.token) {
        this.token = fresh;
        await response.body?.cancel();
        response = await send();
      }
    }
    if (!response.ok) {
      const text = await response.text();
      let body: ErrorBody;
      try {
        body = JSON.parse(text) as ErrorBody;
      } catch {
        body = { code: response.status, reason: 'Unknown', message: text || response.statusText, details: [] };
      }
      throw new LatticeApiError(response.status, body);
    }
    if (!response.body) return;
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) yield decoder.decode(chunk, { stream: true });
  }

  /** CPU and memory per instance of a workload, measured by the agents. */
  stats(namespace: string, name: string): Promise<WorkloadStats> {
    return this.request('GET', `/namespaces/${namespace}/workloads/${name}/stats`);
  }

  /** One watch connection; ends when the server closes it (see `closed` for why). */
  watch(params: WatchParams = {}): WatchStream {
    const factory = this.options.webSocket ?? browserWebSocket;
    const url = this.url('/watch', { ...params }).replace(/^http/, 'ws');
    const socket = factory(url, this.token);
    const queue: WatchMessage[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let resolveClosed!: (value: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
    let resolveOpened!: (value: boolean) => void;
    const opened = new Promise<boolean>((resolve) => (resolveOpened = resolve));
    socket.addEventListener('open', () => resolveOpened(true));
    socket.addEventListener('message', (event) => {
      queue.push(JSON.parse(String(event.data)) as WatchMessage);
      wake?.();
    });
    socket.addEventListener('close', (event) => {
      ended = true;
      resolveOpened(false);
      resolveClosed({ code: event.code, reason: event.reason });
      wake?.();
    });
    socket.addEventListener('error', () => {});
    return {
      opened,
      closed,
      close: () => socket.close(1000, 'client closed'),
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift();
          if (next) yield next;
          else if (ended) return;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
  }
}

const browserWebSocket: WebSocketFactory = (url, token) => {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Ctor) throw new Error('no global WebSocket here: pass options.webSocket (e.g. from the ws package)');
  const withToken = new URL(url);
  if (token) withToken.searchParams.set('access_token', token);
  return new Ctor(withToken.toString());
};
