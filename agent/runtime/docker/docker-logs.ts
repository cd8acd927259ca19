// Docker's log stream of a container without a TTY is multiplexed: frames of an 8-byte header
// (stream type, 3 zero bytes, big-endian payload length) and the payload. dockerode hands over a
// Buffer when not following and a stream when following; both go through LogLineDecoder, which
// cuts frames and then lines (a line may span frames, a frame may hold many lines).
import type Docker from 'dockerode';

const HEADER = 8;

export class LogLineDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Per stream (1 stdout, 2 stderr): the start of a line not yet ended. */
  private readonly partial = new Map<number, string>();

  /** The complete lines in this chunk (and the ones it completes). */
  push(chunk: Buffer): string[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: string[] = [];
    while (this.pending.length >= HEADER) {
      const stream = this.pending[0]!;
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER + length) break;
      const text = (this.partial.get(stream) ?? '') + this.pending.subarray(HEADER, HEADER + length).toString('utf8');
      this.pending = this.pending.subarray(HEADER + length);
      const parts = text.split('\n');
      this.partial.set(stream, parts.pop()!);
      for (const line of parts) lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    return lines;
  }

  /** Lines left without a final line break. */
  end(): string[] {
    const rest = [...this.partial.values()].filter((line) => line !== '');
    this.partial.clear();
    return rest;
  }
}

export interface ContainerLogOptions {
  tail?: number;
  follow?: boolean;
}

/**
 * The lines of a container's log; with follow, until the container stops or the consumer calls
 * return(), which takes effect at once (the stream is destroyed even while waiting for a line).
 */
export function containerLogLines(container: Docker.Container, options: ContainerLogOptions): AsyncIterableIterator<string> {
  const decoder = new LogLineDecoder();
  const queue: string[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  // The engine takes tail=all; the types only know numbers.
  const base = { stdout: true, stderr: true, tail: (options.tail ?? 'all') as number };
  const opened = (async () => {
    if (!options.follow) {
      const buffer = (await container.logs({ ...base, follow: false })) as unknown as Buffer;
      queue.push(...decoder.push(buffer), ...decoder.end());
      ended = true;
      return;
    }
    const opened = (await container.logs({ ...base, follow: true })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    if (ended) {
      opened.destroy();
      return;
    }
    stream = opened;
    opened.on('data', (chunk: Buffer) => {
      queue.push(...decoder.push(chunk));
      wake?.();
    });
    const finish = () => {
      queue.push(...decoder.end());
      ended = true;
      wake?.();
    };
    opened.once('end', finish);
    opened.once('close', finish);
    opened.once('error', (error) => {
      failure = error;
      finish();
    });
  })().catch((error: unknown) => {
    failure = error;
    ended = true;
  });
  const iterator: AsyncIterableIterator<string> = {
    async next() {
      await opened;
      for (;;) {
        const line = queue.shift();
        if (line !== undefined) return { value: line, done: false };
        if (failure) throw failure;
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return() {
      ended = true;
      queue.length = 0;
      stream?.destroy();
      wake?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
