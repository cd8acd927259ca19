// Health checks of an instance: tcp (connect), http (GET, 2xx/3xx) and exec (exit 0), all
// against loopback, run one after the other every intervalSeconds. failureThreshold consecutive
// failures make the instance Unhealthy; one success makes it Healthy again.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Clock } from '../../schemas/clock.ts';
import type { HealthCheck, PortSpec } from '../../schemas/types.gen.ts';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export interface ProbeContext {
  ports: PortSpec[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** Runs an exec probe somewhere else than on this machine (the docker runtime: inside the container). */
  exec?: (command: string[], timeoutMs: number) => Promise<ProbeResult>;
}

const HOST = '127.0.0.1';

/** A port number, or the containerPort of the named entry of spec.ports. */
export function resolvePort(port: number | string, ports: PortSpec[]): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

export function describeProbe(check: HealthCheck): string {
  if (check.tcp) return `tcp port ${check.tcp.port}`;
  if (check.http) return `http GET ${check.http.path ?? '/'} on port ${check.http.port}`;
  if (check.exec) return `exec ${check.exec.command[0]}`;
  return 'no probe';
}

export async function runProbe(check: HealthCheck, context: ProbeContext): Promise<ProbeResult> {
  if (check.tcp) {
    const port = resolvePort(check.tcp.port, context.ports);
    if (port === undefined) return { ok: false, reason: `unknown port ${JSON.stringify(check.tcp.port)}` };
    return tcpProbe(port, context.timeoutMs);
  }
  if (check.http) {
    const port = resolvePort(check.http.port, context.ports);
    if (port === undefined) return { ok: false, reason: `unknown port ${JSON.stringify(check.http.port)}` };
    return httpProbe(port, check.http.path ?? '/', context.timeoutMs);
  }
  if (check.exec) return context.exec ? context.exec(check.exec.command, context.timeoutMs) : execProbe(check.exec.command, context);
  return { ok: false, reason: 'health check sets none of tcp, http or exec' };
}

function errorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  return error instanceof Error ? error.message : String(error);
}

export function tcpProbe(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const finish = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `tcp connect to port ${port} timed out after ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (error) => finish({ ok: false, reason: `tcp port ${port}: ${errorReason(error)}` }));
  });
}

export function httpProbe(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request({ host: HOST, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'lattice-health-check', connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `http GET ${path} on port ${port} returned ${status}` });
    });
    const timer = setTimeout(() => finish({ ok: false, reason: `http GET ${path} on port ${port} timed out after ${timeoutMs} ms` }), timeoutMs);
    req.once('error', (error) => finish({ ok: false, reason: `http GET ${path} on port ${port}: ${errorReason(error)}` }));
    req.end();
  });
}

/** Runs the command without a shell in its own process group, which is killed on timeout. */
export function execProbe(command: string[], context: Pick<ProbeContext, 'env' | 'cwd' | 'timeoutMs'>): Promise<ProbeResult> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.resolve({ ok: false, reason: 'exec health check has an empty command' });
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    // 'exit', not 'close': stdio is ignored, so a grandchild cannot hold the probe open.
    const child = spawn(file, args, { env: context.env, cwd: context.cwd, stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      finish({ ok: false, reason: `exec ${file} timed out after ${context.timeoutMs} ms` });
    }, context.timeoutMs);
    child.once('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      finish({ ok: false, reason: code === 'ENOENT' ? `exec health check: command not found: ${file}` : `exec ${file}: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      if (code === 0) finish({ ok: true });
      else finish({ ok: false, reason: signal ? `exec ${file} killed by ${signal}` : `exec ${file} exited with code ${code}` });
    });
  });
}

export interface HealthMonitorOptions {
  check: HealthCheck;
  context: ProbeContext;
  /** Length of one of intervalSeconds' seconds in ms: 1000 (tests pass less). */
  msPerSecond: number;
  /** Schedules the probes: a test's manual clock decides when they run. */
  clock: Clock;
  onResult: (health: 'Healthy' | 'Unhealthy', reason?: string) => void;
  /** Called on every failure below the threshold too, for messages. */
  onFailure?: (reason: string, consecutive: number) => void;
}

/**
 * Probes every interval (the next probe is scheduled when the previous one ends, so probes never
 * overlap). The first probe runs after min(interval, 1 s): a fresh process gets a moment to bind.
 * Failures count from the first probe, like a Kubernetes liveness probe without initialDelay.
 */
export class HealthMonitor {
  private timer: unknown;
  private stopped = false;
  private consecutiveFailures = 0;
  private reported: 'Healthy' | 'Unhealthy' | undefined;
  private readonly intervalMs: number;
  private readonly threshold: number;

  constructor(private readonly options: HealthMonitorOptions) {
    this.intervalMs = Math.max(1, (options.check.intervalSeconds ?? 10) * options.msPerSecond);
    this.threshold = Math.max(1, options.check.failureThreshold ?? 3);
  }

  start(): void {
    this.schedule(Math.min(this.intervalMs, this.options.msPerSecond));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => void this.probe(), delayMs);
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    let result: ProbeResult;
    try {
      result = await runProbe(this.options.check, this.options.context);
    } catch (error) {
      result = { ok: false, reason: errorReason(error) };
    }
    if (this.stopped) return;
    if (result.ok) {
      this.consecutiveFailures = 0;
      if (this.reported !== 'Healthy') {
        this.reported = 'Healthy';
        this.options.onResult('Healthy');
      }
    } else {
      this.consecutiveFailures += 1;
      this.options.onFailure?.(result.reason, this.consecutiveFailures);
      if (this.consecutiveFailures >= this.threshold && this.reported !== 'Unhealthy') {
        this.reported = 'Unhealthy';
        this.options.onResult('Unhealthy', `health check failed ${this.consecutiveFailures} times: ${result.reason}`);
      }
    }
    // onResult may have stopped us (an Unhealthy instance gets restarted).
    this.schedule(this.intervalMs);
  }
}
