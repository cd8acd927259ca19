// One agent's relay WebSocket, on the control plane: public TCP connections go out on it as
// streams (open → accepted or refused), then bytes both ways under per-stream credit
// (schemas/relay-streams.ts).
//
// Why a WebSocket of its own rather than frames on the agent's JSON connection: TCP delivers one
// connection's bytes in order, so a control message (a deploy, a stop, a heartbeat) queued behind
// megabytes of tunnel data would wait for all of them, and a heartbeat late enough marks the agent
// NotReady. Two connections put the queues in the kernel side by side: tunnel traffic can fill
// its own send buffer and the control connection never notices. Binary frames also carry payloads
// as they are (no base64, no JSON), and the relay can be served, limited or moved elsewhere
// without touching the control protocol.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { decodeRelayFrame, encodeRelayFrame, type RelayFrame } from '../../schemas/relay-frames.ts';
import { RelayStreams } from '../../schemas/relay-streams.ts';

/** An agent that neither accepts nor refuses a stream this long is taken to have refused it. */
const OPEN_TIMEOUT_MS = 10_000;
const CLOSE_POLICY = 1008;

export class AgentRelayChannel {
  private readonly streams: RelayStreams;
  /** Streams opened and not yet answered: the public socket waits, paused. */
  private readonly pending = new Map<number, { socket: Socket; timer: NodeJS.Timeout }>();
  private nextStreamId = 1;

  constructor(
    private readonly socket: WebSocket,
    private readonly log: (message: string) => void,
  ) {
    this.streams = new RelayStreams((frame) => this.send(frame));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        socket.close(CLOSE_POLICY, 'relay frames are binary');
        return;
      }
      let frame: RelayFrame;
      try {
        frame = decodeRelayFrame(data as Buffer);
      } catch (error) {
        socket.close(CLOSE_POLICY, (error as Error).message.slice(0, 120));
        return;
      }
      this.receive(frame);
    });
    socket.on('close', () => this.closed());
  }

  /** Carries a public connection to the agent's instance port; the agent may still refuse it. */
  open(publicSocket: Socket, instanceUid: string, portName: string): void {
    const streamId = this.nextStreamId;
    this.nextStreamId = (this.nextStreamId % 0xffff_ffff) + 1;
    // What the client sends before the agent answers waits in the socket.
    publicSocket.pause();
    publicSocket.on('error', () => undefined);
    const timer = setTimeout(() => {
      this.pending.delete(streamId);
      publicSocket.destroy();
      this.send({ type: 'close', streamId });
    }, OPEN_TIMEOUT_MS);
    this.pending.set(streamId, { socket: publicSocket, timer });
    this.send({ type: 'open', streamId, instanceUid, portName });
  }

  close(reason: string): void {
    this.socket.close(1001, reason);
  }

  private receive(frame: RelayFrame): void {
    const waiting = this.pending.get(frame.streamId);
    if (waiting) {
      this.pending.delete(frame.streamId);
      clearTimeout(waiting.timer);
      if (frame.type === 'accepted' && !waiting.socket.destroyed) {
        this.streams.attach(frame.streamId, waiting.socket);
        waiting.socket.resume();
        return;
      }
      if (frame.type === 'refused') this.log(`stream ${frame.streamId} refused by the agent: ${frame.reason}`);
      waiting.socket.destroy();
      if (frame.type !== 'refused' && frame.type !== 'close') this.send({ type: 'close', streamId: frame.streamId });
      return;
    }
    if (frame.type === 'open') {
      this.socket.close(CLOSE_POLICY, 'only the control plane opens relay streams');
      return;
    }
    // A stream already gone here (closed, timed out): the agent's side goes too.
    if (!this.streams.deliver(frame) && frame.type !== 'close' && frame.type !== 'refused') this.send({ type: 'close', streamId: frame.streamId });
  }

  private send(frame: RelayFrame): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(encodeRelayFrame(frame));
  }

  private closed(): void {
    for (const { socket, timer } of this.pending.values()) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.pending.clear();
    this.streams.abortAll();
  }
}
