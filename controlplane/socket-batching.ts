// Every WebSocket send is a write syscall of its own, and a burst of watch events or agent
// actions is thousands of them. Messages sent to one socket within a turn of the event loop are
// written together instead: the TCP socket under it is corked at the first and uncorked once
// the turn's work is done (setImmediate), which costs at most one turn of latency.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const corked = new WeakSet<Socket>();

/** A text message: a string, or its UTF-8 bytes (written as they are, never copied). */
export function sendBatched(socket: WebSocket, text: string | Buffer): void {
  // ws keeps the TCP socket as _socket; without it (not open yet) the send goes out as is.
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  if (tcp && !corked.has(tcp)) {
    corked.add(tcp);
    tcp.cork();
    setImmediate(() => {
      corked.delete(tcp);
      tcp.uncork();
    });
  }
  socket.send(text, { binary: false });
}
