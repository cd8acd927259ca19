// A private Docker engine for one test file, as ../shared/ENVIRONMENT.md shows: Debian's dockerd
// on a socket under a temp dir (vfs storage, no iptables, no bridge: containers use the host
// network and bind loopback ports), and the test image built locally from busybox-static with
// `docker import` — nothing is pulled from a public registry. stop() removes the containers,
// stops dockerd and unmounts its network namespace. With CI=true a missing dockerd or busybox is
// an error; elsewhere the Docker tests skip with a one-line notice.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const TEST_IMAGE = 'lattice-test/busybox:1';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'httpd', 'sleep', 'echo', 'cat', 'env', 'mkdir', 'test', 'touch', 'true', 'false', 'seq', 'nc', 'wget', 'ls', 'yes', 'md5sum', 'head'];

export interface TestDocker {
  /** unix:///…/docker.sock: pass as DOCKER_HOST to an agent process. */
  host: string;
  docker: Docker;
  image: string;
  /** Containers carrying a lattice.instance label (all states). */
  latticeContainers(label?: string): Promise<Docker.ContainerInfo[]>;
  stop(): Promise<void>;
}

function commandExists(command: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => existsSync(join(dir, command)));
}

/** Why the Docker tests cannot run here, or undefined. Throws with CI=true: there they must run. */
export function dockerUnavailableReason(): string | undefined {
  const missing = [!commandExists('dockerd') && 'dockerd (apt-get install docker.io)', !existsSync(BUSYBOX) && `${BUSYBOX} (apt-get install busybox-static)`].filter(Boolean);
  if (missing.length === 0) return undefined;
  const reason = `Docker tests need ${missing.join(' and ')}`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires the Docker tests to run`);
  return reason;
}

const running = new Set<{ child: ChildProcess; dir: string }>();
process.on('exit', () => {
  for (const { child, dir } of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
    try {
      execFileSync('umount', [join(dir, 'exec', 'netns', 'default')], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
  }
});

async function waitForEngine(docker: Docker, child: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dockerd exited (code ${child.exitCode}):\n${readFileSync(log, 'utf8').slice(-4000)}`);
    try {
      await docker.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${timeoutMs} ms:\n${readFileSync(log, 'utf8').slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * `tar -C rootfs -cf - . | docker import --change … - image`: the folder as a one-layer image
 * (owners and modes as they are in the folder). The tar file is written next to the folder.
 */
export async function importRootfs(docker: Docker, rootfs: string, image: string, changes: string[]): Promise<void> {
  const tarFile = `${rootfs}.tar`;
  await run('tar', ['-C', rootfs, '-cf', tarFile, '.']);
  const [repo, tag] = image.split(/:(?=[^:/]+$)/) as [string, string];
  const stream = await docker.importImage(createReadStream(tarFile) as unknown as string, { repo, tag, changes } as never);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream as unknown as NodeJS.ReadableStream, (error: Error | null) => (error ? reject(error) : resolve())));
}

/** A rootfs holding busybox and its applets, imported as TEST_IMAGE (CMD sh). */
async function buildTestImage(dir: string, socket: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  await importRootfs(new Docker({ socketPath: socket }), rootfs, TEST_IMAGE, ['CMD ["/bin/sh"]', 'ENV PATH=/bin']);
}

export async function startDocker(): Promise<TestDocker> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const log = join(dir, 'dockerd.log');
  const fd = openSync(log, 'a');
  const child = spawn(
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--bridge=none',
      '--data-root', join(dir, 'root'),
      '--exec-root', join(dir, 'exec'),
      '-H', `unix://${socket}`,
      '--pidfile', join(dir, 'dockerd.pid'),
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const entry = { child, dir };
  running.add(entry);
  const docker = new Docker({ socketPath: socket });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    try {
      const containers = await docker.listContainers({ all: true });
      await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    } catch {
      // the engine is already gone
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    await run('umount', [join(dir, 'exec', 'netns', 'default')]).catch(() => undefined);
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForEngine(docker, child, log, 30_000);
    await buildTestImage(dir, socket);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host: `unix://${socket}`,
    docker,
    image: TEST_IMAGE,
    latticeContainers: (label = 'lattice.instance') => docker.listContainers({ all: true, filters: { label: [label] } }),
    stop,
  };
}

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  address: string;
  /** Pushes a local image under address/repository:tag and removes the local copy of that name. */
  push(localImage: string, repository: string): Promise<string>;
  stop(): Promise<void>;
}

/** Why the loopback registry test cannot run, or undefined (with CI=true it must run: .ci/run installs it). */
export function registryUnavailableReason(): string | undefined {
  if (commandExists('docker-registry')) return undefined;
  const reason = 'docker-registry is not installed (apt-get install docker-registry)';
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires the registry test to run`);
  return reason;
}

/** Debian's docker-registry on a loopback port (docker treats 127.0.0.0/8 as an insecure registry). */
export async function startRegistry(engine: TestDocker, port: number): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-registry-'));
  const address = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${address}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const entry = { child, dir };
  running.add(entry);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://${address}/v2/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start on ${address}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    address,
    async push(localImage, repository) {
      const name = `${address}/${repository}`;
      const [repo, tag] = name.split(/:(?=[^:/]+$)/) as [string, string];
      await engine.docker.getImage(localImage).tag({ repo, tag });
      const stream = await engine.docker.getImage(name).push({ authconfig: { serveraddress: address } } as never);
      await new Promise<void>((resolve, reject) => engine.docker.modem.followProgress(stream as unknown as NodeJS.ReadableStream, (error: Error | null) => (error ? reject(error) : resolve())));
      await engine.docker.getImage(name).remove();
      return name;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      running.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
