// Carries TCP connections as streams over one frame channel (the relay WebSocket), on both ends:
// the control plane, whose public listener accepts the connections, and the agent, which connects
// each stream to an instance on loopback. Frames: relay-frames.ts.
//
// Flow control, per stream: a side sends at most the credit its peer granted (RELAY_WINDOW to
// start), keeps the rest queued and pauses its TCP socket, so TCP back-pressure holds the sender
// back. The receiver grants credit as its TCP socket takes the bytes (a write callback), so a
// stream whose TCP reader stalls stops receiving without ever blocking the channel: at most one
// window per stream is in flight or buffered, and every other stream keeps flowing.
import type { Socket } from 'node:net';
import { RELAY_WINDOW, type RelayFrame } from './relay-frames.ts';

/** Grant credit in batches of at least this much, so small writes do not each cost a frame. */
const CREDIT_BATCH = RELAY_WINDOW / 4;

export type SendRelayFrame = (frame: RelayFrame) => void;

/** One TCP connection carried over the channel. */
export class RelayStream {
  /** Bytes the peer still lets us send. */
  private sendCredit = RELAY_WINDOW;
  /** Bytes the peer may still send us before we grant more; past it the peer broke the protocol. */
  private receiveAllowance = RELAY_WINDOW;
  /** Bytes our socket took since the last credit frame. */
  private taken = 0;
  private readonly queue: Buffer[] = [];
  /** The socket's read side ended and the peer is not told yet (queued bytes go first). */
  private readEnded = false;
  private peerGone = false;
  private socketClosed = false;
  /** Done on this side: the peer was told (or is gone) and the stream left its channel. */
  private closed = false;

  constructor(
    readonly streamId: number,
    private readonly socket: Socket,
    private readonly send: SendRelayFrame,
    private readonly onClosed: (stream: RelayStream) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.fromSocket(chunk));
    socket.on('end', () => {
      this.readEnded = true;
      this.flush();
    });
    // An error ends in 'close', which tells the peer; its reason is this side's business.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.socketClosed = true;
      this.settle();
    });
  }

  /** Frames for this stream from the peer (open/accepted/refused are the multiplexer's). */
  receive(frame: RelayFrame): void {
    if (this.closed) return;
    switch (frame.type) {
      case 'data':
        if (frame.payload.length > this.receiveAllowance) {
          this.abort();
          return;
        }
        this.receiveAllowance -= frame.payload.length;
        this.socket.write(frame.payload, () => this.took(frame.payload.length));
        return;
      case 'credit':
        this.sendCredit += frame.bytes;
        this.flush();
        return;
      case 'end':
        this.socket.end();
        return;
      case 'close':
        this.peerGone = true;
        if (this.socketClosed) {
          this.settle();
          return;
        }
        // What the socket still has to write goes out first; then the connection is closed.
        if (this.socket.writableFinished) this.socket.destroy();
        else this.socket.end(() => this.socket.destroy());
        this.socket.resume();
        return;
      default:
        this.abort();
    }
  }

  /** Closes the TCP side at once: the peer broke the protocol (it is told), or the channel is gone (nobody to tell). */
  abort(channelGone = false): void {
    if (channelGone) this.peerGone = true;
    this.queue.length = 0;
    this.readEnded = false;
    this.socket.destroy();
    if (this.socketClosed) this.settle();
  }

  private fromSocket(chunk: Buffer): void {
    if (this.peerGone) return;
    this.queue.push(chunk);
    this.flush();
  }

  private flush(): void {
    if (this.peerGone) return;
    while (this.queue.length > 0 && this.sendCredit > 0) {
      const head = this.queue[0]!;
      const part = head.length <= this.sendCredit ? head : head.subarray(0, this.sendCredit);
      if (part === head) this.queue.shift();
      else this.queue[0] = head.subarray(part.length);
      this.sendCredit -= part.length;
      this.send({ type: 'data', streamId: this.streamId, payload: part });
    }
    if (this.queue.length > 0) {
      this.socket.pause();
      return;
    }
    if (this.readEnded) {
      this.readEnded = false;
      this.send({ type: 'end', streamId: this.streamId });
    } else if (!this.socketClosed) {
      this.socket.resume();
    }
    this.settle();
  }

  private took(bytes: number): void {
    if (this.closed) return;
    this.taken += bytes;
    // Batch, but never hold back the last bytes of a full window: the peer would wait forever.
    if (this.taken >= CREDIT_BATCH || this.socket.writableLength === 0) {
      this.receiveAllowance += this.taken;
      this.send({ type: 'credit', streamId: this.streamId, bytes: this.taken });
      this.taken = 0;
    }
  }

  /**
   * Once the socket has closed and what it read has gone out (data, then end, as credit allows:
   * a socket closes as soon as both its sides are done, often before its last bytes are sent on),
   * the peer is told and the stream is done.
   */
  private settle(): void {
    if (this.closed || !this.socketClosed) return;
    if (!this.peerGone && (this.queue.length > 0 || this.readEnded)) return;
    this.closed = true;
    if (!this.peerGone) this.send({ type: 'close', streamId: this.streamId });
    this.onClosed(this);
  }
}

/** The streams of one channel, by id. */
export class RelayStreams {
  private readonly streams = new Map<number, RelayStream>();

  constructor(private readonly send: SendRelayFrame) {}

  get size(): number {
    return this.streams.size;
  }

  has(streamId: number): boolean {
    return this.streams.has(streamId);
  }

  /** Carries the socket as this stream; it starts flowing at once. */
  attach(streamId: number, socket: Socket): RelayStream {
    const stream = new RelayStream(streamId, socket, this.send, (s) => {
      if (this.streams.get(s.streamId) === s) this.streams.delete(s.streamId);
    });
    this.streams.set(streamId, stream);
    return stream;
  }

  /** A data, credit, end or close frame; false when no such stream is open (a late frame, harmless). */
  deliver(frame: RelayFrame): boolean {
    const stream = this.streams.get(frame.streamId);
    stream?.receive(frame);
    return stream !== undefined;
  }

  /** The channel is gone: every stream's TCP side closes. */
  abortAll(): void {
    for (const stream of [...this.streams.values()]) stream.abort(true);
    this.streams.clear();
  }
}
