// The Node side of the client's WebSocket: the `ws` package, token in the Authorization header.
import WebSocket from 'ws';
import type { WebSocketFactory, WebSocketLike } from './api-client.ts';

export const nodeWebSocket: WebSocketFactory = (url, token) =>
  new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }) as unknown as WebSocketLike;
