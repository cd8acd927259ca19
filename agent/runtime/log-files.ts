// An instance's output lives in two files: current.log (the running process appends to it through
// its own file descriptor, so it keeps logging across an agent restart) and previous.log (the run
// before the last restart). Reading: all lines, the last N, and follow (polling for new bytes).
import { existsSync, renameSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** Moves current.log to previous.log (replacing it) if there is a current one. */
export function rotateLog(currentLog: string, previousLog: string): void {
  try {
    if (existsSync(currentLog) && statSync(currentLog).size > 0) renameSync(currentLog, previousLog);
  } catch {
    // A log that cannot be rotated is appended to instead.
  }
}

const CHUNK = 64 * 1024;

/** The last `count` lines of a file and the byte offset where the file ended when read. */
export async function tailLines(path: string, count: number): Promise<{ lines: string[]; end: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { lines: [], end: 0 };
  }
  try {
    const { size } = await handle.stat();
    if (count <= 0) return { lines: [], end: size };
    // Read backwards until the chunks hold more than `count` line breaks (or the file's start).
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    while (position > 0 && newlines <= count) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      chunks.unshift(buffer);
      for (const byte of buffer) if (byte === 10) newlines += 1;
    }
    const lines = splitLines(Buffer.concat(chunks).toString('utf8'));
    return { lines: lines.slice(-count), end: size };
  } finally {
    await handle.close();
  }
}

/** Lines of a text; a trailing line break does not make an empty last line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

export interface ReadLogOptions {
  tail?: number;
  follow?: boolean;
  pollMs: number;
  /** Follow ends once this turns false (the instance was stopped or the runtime closed). */
  isLive: () => boolean;
}

/**
 * Lines of the log at `path`. With follow, keeps yielding lines appended later, across a rotation
 * (current.log replaced by a new file), until the consumer calls return() — which takes effect at
 * once, even while waiting for new lines — or isLive() turns false.
 */
export function readLogLines(path: string, options: ReadLogOptions): AsyncIterableIterator<string> {
  let closed = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function* generate(): AsyncGenerator<string> {
    let offset = 0;
    if (options.tail !== undefined) {
      const { lines, end } = await tailLines(path, options.tail);
      yield* lines;
      offset = end;
    }
    let handle: FileHandle | undefined;
    let inode: number | undefined;
    let partial = '';
    try {
      for (;;) {
        if (closed) return;
        if (!handle) {
          try {
            handle = await open(path, 'r');
            inode = (await handle.stat()).ino;
          } catch {
            handle = undefined;
          }
        }
        if (handle) {
          // Read everything appended since the offset.
          for (;;) {
            const buffer = Buffer.alloc(CHUNK);
            const { bytesRead } = await handle.read(buffer, 0, CHUNK, offset);
            if (bytesRead === 0) break;
            offset += bytesRead;
            const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
            const cut = text.lastIndexOf('\n');
            partial = cut < 0 ? text : text.slice(cut + 1);
            if (cut >= 0) {
              for (const line of splitLines(text.slice(0, cut + 1))) {
                if (closed) return;
                yield line;
              }
            }
          }
        }
        if (!options.follow) {
          if (partial !== '') yield partial;
          return;
        }
        if (!options.isLive()) return;
        await sleep(options.pollMs);
        // Rotated or truncated: finish with the old file (done above), continue with the new one.
        const current = await stat(path).catch(() => undefined);
        if (handle && (!current || current.ino !== inode || current.size < offset)) {
          if (current) {
            if (partial !== '') {
              if (closed) return;
              yield partial;
            }
            partial = '';
            await handle.close();
            handle = undefined;
            offset = 0;
          }
        }
      }
    } finally {
      await handle?.close();
    }
  }

  const inner = generate();
  const iterator: AsyncIterableIterator<string> = {
    next: () => inner.next(),
    return: async (value?: unknown) => {
      closed = true;
      wake?.();
      return inner.return(value as never);
    },
    throw: (error?: unknown) => inner.throw(error),
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
