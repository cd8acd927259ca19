// GET /api/v1/watch over WebSocket: list+watch in one stream. Without resourceVersion the
// current objects come first as ADDED; with it, every change after it. Each event is checked
// against the caller's access; secrets are redacted; a watcher that stops reading is cut off.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { KINDS, isKindName, type KindName } from '../../schemas/kinds.ts';
import { parseLabelSelector } from '../../store/label-selector.ts';
import { isStoreError } from '../../store/errors.ts';
import type { StoredObject, WatchQuery } from '../../store/types.ts';
import { canRead, present } from '../access.ts';
import { canUseNamespace } from '../auth/principal.ts';
import { badRequest, forbidden, parseParam } from '../errors.ts';
import { sendBatched } from '../socket-batching.ts';
import { SharedLists } from '../shared-lists.ts';
import { ConcurrentPerUser } from '../user-limits.ts';

interface WatchParams {
  kind?: string;
  namespace?: string;
  labelSelector?: string;
  resourceVersion?: string;
}

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', maxLength: 32 },
    namespace: { type: 'string', maxLength: 63 },
    labelSelector: { type: 'string', maxLength: 4096 },
    resourceVersion: { type: 'string', pattern: '^[0-9]+$', maxLength: 16 },
    access_token: { type: 'string', maxLength: 4096 },
  },
} as const;

// Watchers share event objects (the store's change feed hands every watcher the same one), so
// each event is serialized once however many watchers send it, into the UTF-8 bytes every socket
// writes as they are (a string is encoded afresh for each). The bytes are kept for one turn
// of the event loop, when the watchers of a change send it: kept for as long as the object lives
// (the reconciler's caches hold the latest of every Workload) they doubled its memory.
let serialized = new Map<object, Map<string, Buffer>>();

/** An object of a watch's initial list; the same for every watcher, so shared (SharedLists). */
function addedText(object: StoredObject): string {
  return JSON.stringify({ type: 'ADDED', object: present(object) });
}

function eventText(type: string, object: StoredObject): Buffer {
  if (serialized.size === 0) setImmediate(() => (serialized = new Map()));
  let byType = serialized.get(object);
  if (!byType) serialized.set(object, (byType = new Map()));
  let text = byType.get(type);
  if (text === undefined) byType.set(type, (text = Buffer.from(JSON.stringify({ type, object: present(object) }))));
  return text;
}

const CLOSE_NORMAL = 1000;
const CLOSE_POLICY = 1008;
const CLOSE_INTERNAL = 1011;

export async function watchRoutes(app: FastifyInstance): Promise<void> {
  const watches = new ConcurrentPerUser(app.config.limits.watchesPerUser, 'watches');
  const lists = new SharedLists(app.store);
  app.get(
    '/watch',
    {
      websocket: true,
      config: { tokenInQuery: true },
      schema: { querystring },
      // Malformed or forbidden requests are refused here, before the upgrade, as HTTP errors.
      // A compacted resourceVersion is not: it arrives as an ERROR message with code 410, which
      // a browser can read (it cannot read the status of a refused upgrade).
      preHandler: async (request) => {
        const { kind, namespace, labelSelector } = request.query as WatchParams;
        if (kind !== undefined && !isKindName(kind)) throw badRequest(`kind: unknown kind ${JSON.stringify(kind)}; one of ${Object.keys(KINDS).join(', ')}`);
        if (namespace !== undefined && !canUseNamespace(request.principal, namespace)) throw forbidden(`you have no access to namespace ${JSON.stringify(namespace)}`);
        if (labelSelector !== undefined) parseParam(() => parseLabelSelector(labelSelector));
        watches.check(request.principal.username);
      },
    },
    (socket, request) => {
      let release: () => void;
      try {
        release = watches.acquire(request.principal.username);
      } catch (error) {
        socket.close(CLOSE_POLICY, (error as Error).message);
        return;
      }
      socket.once('close', release);
      void streamWatch(app, lists, socket, request);
    },
  );
}

async function streamWatch(app: FastifyInstance, lists: SharedLists, socket: WebSocket, request: FastifyRequest): Promise<void> {
  const { principal } = request;
  const params = request.query as WatchParams;
  const kinds = params.kind ? [params.kind as KindName] : (Object.keys(KINDS) as KindName[]);
  // Namespaced kinds are read from the caller's namespaces only, also in a watch of every kind
  // (which once read every namespace and filtered afterwards).
  const namespaces = params.namespace ?? principal.namespaces;
  const namespace = kinds.every((k) => KINDS[k].namespaced) ? namespaces : undefined;
  const send = (message: unknown) => sendText(JSON.stringify(message));
  const sendText = (text: string | Buffer) => {
    sendBatched(socket, text);
    app.metrics.watchEvents.inc();
  };
  app.metrics.watchers += 1;
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  try {
    let fromRevision: number;
    if (params.resourceVersion !== undefined) fromRevision = Number(params.resourceVersion);
    else {
      fromRevision = await app.store.currentRevision();
      for (const kind of kinds) {
        const list = await lists.open({ kind, namespace: KINDS[kind].namespaced ? namespaces : undefined, ...(params.labelSelector !== undefined ? { labelSelector: params.labelSelector } : {}) });
        try {
          fromRevision = Math.min(fromRevision, list.revision);
          for (let i = 0; i < list.items.length; i++) {
            if (closed) return;
            if (!canRead(principal, list.items[i]!)) continue;
            sendText(list.bytes(i, addedText));
            // The initial list is sent as fast as the client reads it, not faster: past a small
            // window it waits for the socket to drain, and a client that does not read for
            // stallMs is cut off (it has no complete list to resume from: it lists again).
            if (socket.bufferedAmount > INITIAL_LIST_WINDOW_BYTES && !(await drained(socket, app.config.watch.stallMs))) {
              app.metrics.slowWatchers.inc();
              socket.close(CLOSE_POLICY, `slow consumer: the initial list stalled with ${socket.bufferedAmount} bytes unread for ${app.config.watch.stallMs} ms; watch again`);
              // A client that reads nothing will not answer the close either: its buffers go now, not after ws's 30 s close timeout.
              setTimeout(() => socket.terminate(), 1_000).unref();
              return;
            }
          }
        } finally {
          list.release();
        }
      }
    }
    const query: WatchQuery = {
      fromRevision,
      ...(params.kind ? { kind: params.kind } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(params.labelSelector !== undefined ? { labelSelector: params.labelSelector } : {}),
      predicate: (object) => canRead(principal, object),
      bookmarkIntervalMs: app.config.watch.bookmarkIntervalMs,
    };
    const watch = app.store.watch(query);
    socket.on('close', () => watch.close());
    if (closed) watch.close();
    for await (const event of watch) {
      if (socket.bufferedAmount > app.config.watch.maxBufferedBytes) {
        app.metrics.slowWatchers.inc();
        socket.close(CLOSE_POLICY, `slow consumer: over ${app.config.watch.maxBufferedBytes} bytes unread; resume from ${event.revision - 1}`);
        break;
      }
      if (event.type === 'BOOKMARK') send({ type: 'BOOKMARK', object: { apiVersion: 'lattice/v1', kind: params.kind ?? 'Bookmark', metadata: { resourceVersion: String(event.revision) } } });
      else sendText(eventText(event.type, event.object));
    }
  } catch (error) {
    if (isStoreError(error) && error.code === 'Gone') {
      send({ type: 'ERROR', object: { code: 410, reason: 'Gone', message: error.message } });
      socket.close(CLOSE_NORMAL, 'resourceVersion compacted; list again');
    } else {
      request.log.error({ err: error }, 'watch failed');
      socket.close(CLOSE_INTERNAL, 'internal error');
    }
  } finally {
    app.metrics.watchers -= 1;
  }
}

/** Bytes of a watch's initial list the server writes ahead of the client's reading. */
const INITIAL_LIST_WINDOW_BYTES = 256 * 1024;

/** Whether the socket's buffered data was written out within ms (false: the client is not reading, or it closed). */
function drained(socket: WebSocket, ms: number): Promise<boolean> {
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  if (!tcp) return Promise.resolve(false);
  if (!tcp.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (result: boolean) => {
      clearTimeout(timer);
      tcp.off('drain', onDrain);
      tcp.off('close', onClose);
      resolve(result);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    tcp.once('drain', onDrain);
    tcp.once('close', onClose);
  });
}
