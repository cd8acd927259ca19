// Everything `lattice agent` (and `lattice up`'s local agent) does to start: credential,
// runtimes (adopting what an earlier run left running), tunnels, connection.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lockDataDir } from './data-dir-lock.ts';
import { statsHistoryEvery } from './stats-history.ts';
import { AgentDaemon } from './agent-daemon.ts';
import { loadCredential, parseServerUrls, register } from './join.ts';
import type { DockerNetwork } from './runtime/docker/container-spec.ts';
import type { DockerRuntime } from './runtime/docker/docker-runtime.ts';
import { ProcessRuntime } from './runtime/process-runtime.ts';
import { RuntimeRouter } from './runtime/runtime-router.ts';
import type { Runtime } from './runtime/types.ts';
import { NgrokProvider } from './tunnels/ngrok-provider.ts';
import { RelayProvider } from './tunnels/relay-provider.ts';
import { TunnelingRuntime } from './tunnels/tunneling-runtime.ts';

export interface StartAgentOptions {
  /** One URL (a server or a load balancer), or the replicas of one cluster separated by commas; the first names the cluster. */
  server: string;
  name: string;
  dataDir: string;
  /** Needed the first time; afterwards the stored credential is used. */
  joinToken?: string;
  labels?: Record<string, string>;
  advertiseAddress?: string;
  version: string;
  heartbeatMs?: number;
  /** How often instances' CPU and memory are sampled for the dashboard's charts (default 5 s; 15 minutes kept). */
  statsIntervalMs?: number;
  /** auto (default): docker when DOCKER_HOST or /var/run/docker.sock answers; off: processes only. */
  docker?: 'auto' | 'off';
  /** auto (default): bridge when the engine has its bridge network, host otherwise. */
  dockerNetwork?: DockerNetwork | 'auto';
  /**
   * Run other tenants' process workloads too (they run as this agent's OS user, with no isolation
   * from it or each other). Off: only the owner's (the user whose join token it joined with).
   */
  allowTenantProcesses?: boolean;
  /** With host networking, run other tenants' containers too (they share this machine's network, loopback included). */
  allowTenantHostNetwork?: boolean;
  /** Opens tunnels for `expose: tunnel` ports (env NGROK_AUTHTOKEN). */
  ngrokAuthtoken?: string;
  /** host:port of the ngrok edge to dial instead of ngrok's public one (env NGROK_SERVER_ADDR). */
  ngrokServerAddr?: string;
  log?: (message: string) => void;
}

/** The docker runtime and its network when an engine answers, else undefined (the agent then runs processes only). */
async function openDocker(options: StartAgentOptions, advertiseAddress: string): Promise<{ runtime: DockerRuntime; network: DockerNetwork } | undefined> {
  if (options.docker === 'off') return undefined;
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const noEngine = () => {
    options.log?.(`agent ${options.name}: no Docker engine answers at ${where}; running processes only`);
    return undefined;
  };
  // dockerode and its SSH stack take a tenth of a second to load: not for a machine without Docker.
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return noEngine();
  const [{ default: Docker }, { DockerRuntime, defaultNetwork, dockerAnswers }] = await Promise.all([import('dockerode'), import('./runtime/docker/docker-runtime.ts')]);
  const docker = new Docker();
  if (!(await dockerAnswers(docker))) return noEngine();
  const network = !options.dockerNetwork || options.dockerNetwork === 'auto' ? await defaultNetwork(docker) : options.dockerNetwork;
  options.log?.(`agent ${options.name}: docker runtime on, ${network} networking`);
  return { runtime: await DockerRuntime.open({ docker, network, advertiseAddress, ...(options.log ? { log: options.log } : {}) }), network };
}

export async function startAgent(options: StartAgentOptions): Promise<AgentDaemon> {
  const servers = parseServerUrls(options.server);
  lockDataDir(options.dataDir);
  let credential = loadCredential(options.dataDir, servers, options.name);
  if (!credential) {
    if (!options.joinToken) throw new Error(`agent ${options.name} has no credential in ${options.dataDir}: pass --join-token (create one with \`lattice agent token create\`)`);
    credential = await register(servers, options.joinToken, options.name, options.labels ?? {}, options.dataDir, options.log);
  }
  const advertiseAddress = options.advertiseAddress ?? '127.0.0.1';
  const processes = await ProcessRuntime.open({ dataDir: join(options.dataDir, 'process'), advertiseAddress });
  const { cgroups } = processes;
  options.log?.(`agent ${options.name}: ${'driver' in cgroups ? `process workloads' cpu and memory limits enforced with ${cgroups.driver.name}` : `process workloads' cpu and memory limits not enforced: ${cgroups.unavailable}`}`);
  const runtimes: Runtime[] = [processes];
  const docker = await openDocker(options, advertiseAddress);
  if (docker) runtimes.unshift(docker.runtime);
  const currentCredential = () => loadCredential(options.dataDir, servers, options.name)?.token ?? credential.token;
  // ngrok when this agent has a token (its owner chose it); otherwise the control plane's relay,
  // asked per tunnel: a control plane without one answers so, and TunnelReady says
  // TunnelUnavailable until it is turned on. Asking, rather than a flag in the hello, needs no
  // change to the control protocol and follows the control plane as it is reconfigured.
  const provider = options.ngrokAuthtoken
    ? new NgrokProvider({ authtoken: options.ngrokAuthtoken, ...(options.ngrokServerAddr ? { serverAddr: options.ngrokServerAddr } : {}) })
    : new RelayProvider({ servers, credential: currentCredential, ...(options.log ? { log: options.log } : {}) });
  const runtime = new TunnelingRuntime(new RuntimeRouter(runtimes), { provider, ...(options.log ? { log: options.log } : {}) });
  const daemon = new AgentDaemon({
    servers,
    name: options.name,
    credential: currentCredential,
    runtime,
    advertiseAddress,
    version: options.version,
    ...(options.allowTenantProcesses ? { tenantProcesses: true } : {}),
    ...(docker ? { dockerNetwork: docker.network } : {}),
    ...(options.allowTenantHostNetwork ? { tenantHostNetwork: true } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.statsIntervalMs ? { statsHistory: statsHistoryEvery(options.statsIntervalMs) } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  daemon.start();
  return daemon;
}
