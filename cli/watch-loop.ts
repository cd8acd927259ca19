// A watch that outlives its connection: it resumes from the last revision it saw (bookmarks
// included) when the socket drops, and starts over from the current objects when that revision
// has been compacted (410). Gives up after a few reconnects in a row that deliver nothing.
import type { WatchParams } from '../client/api-client.ts';
import type { ObjectEvent, WatchMessage } from '../schemas/types.gen.ts';
import { backoffDelay } from '../schemas/backoff.ts';
import { CliError } from './errors.ts';
import type { Session } from './session.ts';

const MAX_SILENT_RECONNECTS = 5;
/** Between reconnects: 250 ms after a connection that delivered, doubling with each silent one. */
const RECONNECT_BACKOFF = { initialMs: 250, maxMs: 5_000 };

export interface WatchLoop extends AsyncIterable<ObjectEvent> {
  stop(): void;
}

export function watchLoop(session: Session, params: WatchParams): WatchLoop {
  let stopped = false;
  let stream: ReturnType<Session['client']['watch']> | undefined;
  return {
    stop() {
      stopped = true;
      stream?.close();
    },
    async *[Symbol.asyncIterator]() {
      let resourceVersion = params.resourceVersion;
      let silent = 0;
      while (!stopped) {
        await session.fresh();
        stream = session.client.watch({ ...params, ...(resourceVersion ? { resourceVersion } : {}) });
        let delivered = false;
        for await (const message of stream as AsyncIterable<WatchMessage>) {
          delivered = true;
          if (message.type === 'ERROR') {
            if (message.object.code !== 410) throw new CliError(`watch failed: ${message.object.message}`);
            resourceVersion = undefined; // compacted: the server sends the current objects again
            continue;
          }
          resourceVersion = message.object.metadata.resourceVersion ?? resourceVersion;
          if (message.type !== 'BOOKMARK') yield message;
        }
        if (stopped) return;
        const { code, reason } = await stream.closed;
        silent = delivered ? 0 : silent + 1;
        if (silent >= MAX_SILENT_RECONNECTS) throw new CliError(`the watch connection to ${session.context.server} keeps closing (last: ${code}${reason ? ` ${reason}` : ''}); check the server and your access`);
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(silent, RECONNECT_BACKOFF)));
      }
    },
  };
}
