// Server configuration: from explicit options (tests, `lattice up`) or the environment
// (`lattice server`, see .env.example). Every field has a safe default.
import { parseCpu, parseMemory } from '../schemas/quantity.ts';
export interface UserLimits {
  watchesPerUser: number;
  logStreamsPerUser: number;
  /** Workloads and secrets in one namespace. */
  objectsPerNamespace: number;
  replicasPerWorkload: number;
  /** Replicas across every namespace the user belongs to. */
  replicasPerUser: number;
}

export interface ServerConfig {
  /** Store URL: sqlite:./path.db or postgres://… */
  db: string;
  /** HS256 key for access tokens; generated and kept in the database when absent. */
  jwtSecret?: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  bcryptCost: number;
  /** Who may register: anyone (open) or nobody (closed; an admin comes from bootstrapAdmin). */
  registration: 'open' | 'closed';
  /** What a replica stating no cpu or memory counts as on a shared agent, when it is placed. */
  defaultRequests: { cpu: string; memory: string };
  /** What one user may request in all on shared agents other users run (beyond it: Pending, naming the limit). */
  sharedRequestsPerUser: { cpu: string; memory: string };
  /** What one user (not an admin) may hold open at once and store (429 past it). */
  limits: UserLimits;
  /** Registration attempts one address may make in an hour (429 past it). */
  registrationsPerAddressPerHour: number;
  bootstrapAdmin?: { username: string; password: string };
  bodyLimitBytes: number;
  /** Origins allowed to call the API from a browser; none by default. */
  corsOrigins: readonly string[];
  login: { perUserFailures: number; perAddressAttempts: number; windowSeconds: number };
  /** stallMs: how long a watch's initial list waits for a client that reads nothing before cutting it off. */
  watch: { bookmarkIntervalMs: number; maxBufferedBytes: number; stallMs: number };
  sqliteSynchronous: 'full' | 'normal';
  /** The change log keeps about this much history for watchers (see log-compactor.ts). */
  compactIntervalMs: number;
  /** Run the controllers in this process (off for API-only tests). */
  reconciler: boolean;
  /**
   * Agent lifecycle: NotReady after graceMs without heartbeat, instances Lost evictionMs later.
   * A connected agent's heartbeat is written to its Agent object about every heartbeatPersistMs
   * (default 30 s; in between it is kept in memory).
   */
  agentTimings: { graceMs: number; evictionMs: number; heartbeatPersistMs?: number };
  /** A join token for shared agents that never expires (LATTICE_AGENT_JOIN_TOKEN), for setups like docker-compose. */
  agentJoinToken?: string;
  /**
   * Where the other replicas reach this one (LATTICE_ADVERTISE_URL, --advertise-url), e.g.
   * http://server-a:8080; by default the address it listens on.
   */
  advertiseUrl?: string;
  /** The built-in tunnel relay (controlplane/relay/); off when absent. */
  tunnelRelay?: TunnelRelayConfig;
  /** Fastify logger; off in tests. */
  logger: boolean;
}

export interface TunnelRelayConfig {
  /** The host in the URLs handed out, tcp://<address>:<port> (LATTICE_TUNNEL_ADDRESS). */
  address: string;
  /**
   * Where the public listeners bind (LATTICE_TUNNEL_LISTEN; the address by default). Separate
   * because the public name is often not an address of this machine: a cloud VM behind 1:1 NAT,
   * a container behind a published port, a DNS name. Those bind 0.0.0.0 and show the name.
   */
  listenAddress: string;
  /** The range public ports are taken from, inclusive (LATTICE_TUNNEL_PORTS=20000-20999). */
  ports: { first: number; last: number };
}

export const DEFAULT_CONFIG: ServerConfig = {
  db: 'sqlite:./.lattice/lattice.db',
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  bcryptCost: 10,
  registration: 'open',
  registrationsPerAddressPerHour: 20,
  limits: { watchesPerUser: 100, logStreamsPerUser: 20, objectsPerNamespace: 1_000, replicasPerWorkload: 100, replicasPerUser: 500 },
  defaultRequests: { cpu: '100m', memory: '64Mi' },
  sharedRequestsPerUser: { cpu: '4', memory: '8Gi' },
  bodyLimitBytes: 4 * 1024 * 1024,
  corsOrigins: [],
  login: { perUserFailures: 10, perAddressAttempts: 60, windowSeconds: 60 },
  watch: { bookmarkIntervalMs: 10_000, maxBufferedBytes: 8 * 1024 * 1024, stallMs: 10_000 },
  sqliteSynchronous: 'full',
  compactIntervalMs: 5 * 60_000,
  reconciler: true,
  agentTimings: { graceMs: 15_000, evictionMs: 30_000 },
  logger: true,
};

/** Overrides of the defaults; limits may be given one by one. */
export type ConfigOverrides = Partial<Omit<ServerConfig, 'limits'>> & { limits?: Partial<UserLimits> };

export function resolveConfig(overrides: ConfigOverrides = {}): ServerConfig {
  return { ...DEFAULT_CONFIG, ...overrides, limits: { ...DEFAULT_CONFIG.limits, ...overrides.limits } };
}

const LIMIT_VARIABLES: Readonly<Record<keyof UserLimits, string>> = {
  watchesPerUser: 'LATTICE_WATCHES_PER_USER',
  logStreamsPerUser: 'LATTICE_LOG_STREAMS_PER_USER',
  objectsPerNamespace: 'LATTICE_OBJECTS_PER_NAMESPACE',
  replicasPerWorkload: 'LATTICE_REPLICAS_PER_WORKLOAD',
  replicasPerUser: 'LATTICE_REPLICAS_PER_USER',
};

/** Reads LATTICE_* variables; unknown values are errors, not silently ignored. */
export function configFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const config: ConfigOverrides = {};
  if (env.LATTICE_DB) config.db = env.LATTICE_DB;
  if (env.LATTICE_JWT_SECRET) config.jwtSecret = env.LATTICE_JWT_SECRET;
  if (env.LATTICE_ACCESS_TOKEN_TTL) config.accessTokenTtlSeconds = positiveInt('LATTICE_ACCESS_TOKEN_TTL', env.LATTICE_ACCESS_TOKEN_TTL);
  if (env.LATTICE_REGISTRATION) config.registration = oneOf('LATTICE_REGISTRATION', env.LATTICE_REGISTRATION, ['open', 'closed'] as const);
  for (const [limit, name] of Object.entries(LIMIT_VARIABLES) as [keyof UserLimits, string][]) {
    const value = env[name];
    if (value) config.limits = { ...config.limits, [limit]: positiveInt(name, value) };
  }
  if (env.LATTICE_DEFAULT_CPU_REQUEST || env.LATTICE_DEFAULT_MEMORY_REQUEST) {
    config.defaultRequests = {
      cpu: quantity('LATTICE_DEFAULT_CPU_REQUEST', env.LATTICE_DEFAULT_CPU_REQUEST ?? DEFAULT_CONFIG.defaultRequests.cpu, parseCpu),
      memory: quantity('LATTICE_DEFAULT_MEMORY_REQUEST', env.LATTICE_DEFAULT_MEMORY_REQUEST ?? DEFAULT_CONFIG.defaultRequests.memory, parseMemory),
    };
  }
  if (env.LATTICE_SHARED_CPU_PER_USER || env.LATTICE_SHARED_MEMORY_PER_USER) {
    config.sharedRequestsPerUser = {
      cpu: quantity('LATTICE_SHARED_CPU_PER_USER', env.LATTICE_SHARED_CPU_PER_USER ?? DEFAULT_CONFIG.sharedRequestsPerUser.cpu, parseCpu),
      memory: quantity('LATTICE_SHARED_MEMORY_PER_USER', env.LATTICE_SHARED_MEMORY_PER_USER ?? DEFAULT_CONFIG.sharedRequestsPerUser.memory, parseMemory),
    };
  }
  if (env.LATTICE_REGISTRATIONS_PER_HOUR) config.registrationsPerAddressPerHour = positiveInt('LATTICE_REGISTRATIONS_PER_HOUR', env.LATTICE_REGISTRATIONS_PER_HOUR);
  if (env.LATTICE_ADMIN_USERNAME || env.LATTICE_ADMIN_PASSWORD) {
    if (!env.LATTICE_ADMIN_USERNAME || !env.LATTICE_ADMIN_PASSWORD) throw new Error('set both LATTICE_ADMIN_USERNAME and LATTICE_ADMIN_PASSWORD, or neither');
    config.bootstrapAdmin = { username: env.LATTICE_ADMIN_USERNAME, password: env.LATTICE_ADMIN_PASSWORD };
  }
  if (env.LATTICE_BODY_LIMIT) config.bodyLimitBytes = positiveInt('LATTICE_BODY_LIMIT', env.LATTICE_BODY_LIMIT);
  if (env.LATTICE_CORS_ORIGINS) config.corsOrigins = env.LATTICE_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  if (env.LATTICE_AGENT_GRACE || env.LATTICE_AGENT_EVICTION) {
    config.agentTimings = {
      graceMs: 1000 * (env.LATTICE_AGENT_GRACE ? positiveInt('LATTICE_AGENT_GRACE', env.LATTICE_AGENT_GRACE) : 15),
      evictionMs: 1000 * (env.LATTICE_AGENT_EVICTION ? positiveInt('LATTICE_AGENT_EVICTION', env.LATTICE_AGENT_EVICTION) : 30),
    };
  }
  if (env.LATTICE_AGENT_JOIN_TOKEN) {
    if (env.LATTICE_AGENT_JOIN_TOKEN.length < 32) throw new Error('LATTICE_AGENT_JOIN_TOKEN must be at least 32 characters (e.g. `openssl rand -hex 32`)');
    config.agentJoinToken = env.LATTICE_AGENT_JOIN_TOKEN;
  }
  if (env.LATTICE_COMPACT_INTERVAL) config.compactIntervalMs = 1000 * positiveInt('LATTICE_COMPACT_INTERVAL', env.LATTICE_COMPACT_INTERVAL);
  if (env.LATTICE_SQLITE_SYNCHRONOUS) config.sqliteSynchronous = oneOf('LATTICE_SQLITE_SYNCHRONOUS', env.LATTICE_SQLITE_SYNCHRONOUS, ['full', 'normal'] as const);
  if (env.LATTICE_ADVERTISE_URL) config.advertiseUrl = advertiseUrl('LATTICE_ADVERTISE_URL', env.LATTICE_ADVERTISE_URL);
  const tunnelRelay = tunnelRelayFromEnv(env);
  if (tunnelRelay) config.tunnelRelay = tunnelRelay;
  return config;
}

/** Both of LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS, or neither (the relay is off). */
function tunnelRelayFromEnv(env: NodeJS.ProcessEnv): TunnelRelayConfig | undefined {
  const { LATTICE_TUNNEL_ADDRESS: address, LATTICE_TUNNEL_PORTS: ports, LATTICE_TUNNEL_LISTEN: listen } = env;
  if (!address && !ports) {
    if (listen) throw new Error('LATTICE_TUNNEL_LISTEN needs LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS');
    return undefined;
  }
  if (!address || !ports) throw new Error('set both LATTICE_TUNNEL_ADDRESS and LATTICE_TUNNEL_PORTS to turn on the tunnel relay, or neither');
  const host = tunnelHost('LATTICE_TUNNEL_ADDRESS', address);
  // An IPv6 address is bracketed in a URL, not where it is bound.
  const listenAddress = (listen ? tunnelHost('LATTICE_TUNNEL_LISTEN', listen) : host).replace(/^\[(.*)\]$/, '$1');
  return { address: host, listenAddress, ports: portRange('LATTICE_TUNNEL_PORTS', ports) };
}

/** A host name or IP address, nothing more (no scheme, port or path): it goes into tcp://host:port. */
export function tunnelHost(name: string, value: string): string {
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/.test(value)) {
    throw new Error(`${name} must be a host name or IP address, e.g. 127.0.0.1 or tunnels.example.com (an IPv6 address in brackets); got ${JSON.stringify(value)}`);
  }
  return value;
}

/** first-last, both TCP ports, first ≤ last. */
export function portRange(name: string, value: string): { first: number; last: number } {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(value.trim());
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (!match || first < 1 || last > 65_535 || first > last) {
    throw new Error(`${name} must be a range of TCP ports such as 20000-20999 (first ≤ last, within 1-65535); got ${JSON.stringify(value)}`);
  }
  return { first, last };
}

/** An http(s) URL with no path, query or credentials: other replicas append the API's paths to it. */
export function advertiseUrl(name: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.pathname !== '/') {
    throw new Error(`${name} must be the http(s) URL other replicas reach this one at, with no path, e.g. http://server-a:8080; got ${JSON.stringify(value)}`);
  }
  return url.origin;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function quantity(name: string, value: string, parse: (q: string) => number): string {
  try {
    parse(value);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}
