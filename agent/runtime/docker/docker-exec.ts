// An exec health check of a container: the command runs inside it, exit 0 is healthy.
import type Docker from 'dockerode';
import type { ProbeResult } from '../health-check.ts';
import { dockerReason } from './docker-errors.ts';

const POLL_MS = 100;

export async function execInContainer(container: Docker.Container, command: string[], timeoutMs: number): Promise<ProbeResult> {
  const what = `exec ${command[0] ?? ''}`;
  try {
    const exec = await container.exec({ Cmd: command, AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode === 0 ? { ok: true } : { ok: false, reason: `${what} exited with code ${info.ExitCode}` };
      if (Date.now() > deadline) return { ok: false, reason: `${what} timed out after ${timeoutMs} ms` };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    return { ok: false, reason: `${what}: ${dockerReason(error)}` };
  }
}
