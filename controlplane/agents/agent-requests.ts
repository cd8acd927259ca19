// Requests the control plane makes of an agent over its WebSocket and the answers it waits for:
// logs (a stream of line batches, cancelled when the reader goes away) and stats (one answer).
// Requests are multiplexed by requestId; an agent's answers count only for requests sent to it,
// and when it disconnects, whatever it still owed fails with a reason.
import { randomBytes } from 'node:crypto';
import type { AgentMessage, InstanceStats, ServerMessage } from '../../schemas/types.gen.ts';

type Answer = Extract<AgentMessage, { type: 'logData' | 'logEnd' | 'statsResult' }>;

export interface LogRequestOptions {
  tail?: number;
  follow?: boolean;
  previous?: boolean;
  /** Flow control: the bytes of lines the agent may send ahead of what the reader took (see LogStream.taken). */
  window?: number;
}

/** Why a request got no answer. notConnected/timeout: the agent; refused: the agent said why (e.g. no previous run). */
export class AgentRequestError extends Error {
  constructor(
    readonly kind: 'notConnected' | 'timeout' | 'refused' | 'disconnected',
    message: string,
  ) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

/** Batches of lines; return() cancels the read on the agent. Throws AgentRequestError if the agent goes away mid-stream. */
export interface LogStream extends AsyncIterableIterator<string[]> {
  /**
   * The reader took these bytes of lines (logBytes): with a window, the agent may send as many
   * again. Granted in quarters of the window rather than per batch, to keep the messages few.
   */
  taken(bytes: number): void;
}

interface PendingStats {
  kind: 'stats';
  agent: string;
  resolve(stats: InstanceStats): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface PendingLogs {
  kind: 'logs';
  agent: string;
  accepted: boolean;
  accept(stream: LogStream): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  batches: string[][];
  window?: number;
  /** Taken but not yet granted back. */
  ungranted: number;
  ended: boolean;
  failure?: Error;
  wake?: () => void;
}

export class AgentRequests {
  private readonly pending = new Map<string, PendingStats | PendingLogs>();

  constructor(
    /** false when the agent is not connected. */
    private readonly send: (agent: string, message: ServerMessage) => boolean,
    private readonly timeoutMs = 10_000,
  ) {}

  stats(agent: string, uid: string): Promise<InstanceStats> {
    const requestId = newRequestId();
    return new Promise<InstanceStats>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(requestId, new AgentRequestError('timeout', `agent ${agent} did not answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.pending.set(requestId, { kind: 'stats', agent, resolve, reject, timer });
      if (!this.send(agent, { type: 'stats', requestId, uid })) this.fail(requestId, notConnected(agent));
    });
  }

  /** Resolves once the agent accepted the request (its first answer), rejects with its reason otherwise. */
  logs(agent: string, uid: string, options: LogRequestOptions): Promise<LogStream> {
    const requestId = newRequestId();
    return new Promise<LogStream>((accept, reject) => {
      const timer = setTimeout(() => this.fail(requestId, new AgentRequestError('timeout', `agent ${agent} did not answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.pending.set(requestId, { kind: 'logs', agent, accepted: false, accept, reject, timer, batches: [], ...(options.window !== undefined ? { window: options.window } : {}), ungranted: 0, ended: false });
      if (!this.send(agent, { type: 'logs', requestId, uid, ...options })) this.fail(requestId, notConnected(agent));
    });
  }

  /** An agent's answer; ignored unless it answers a request sent to that agent. */
  handle(agent: string, message: Answer): void {
    const request = this.pending.get(message.requestId);
    if (!request || request.agent !== agent) return;
    if (request.kind === 'stats') {
      if (message.type !== 'statsResult') return;
      this.pending.delete(message.requestId);
      clearTimeout(request.timer);
      if (message.stats) request.resolve(message.stats);
      else request.reject(new AgentRequestError('refused', message.error ?? 'the agent sent no stats'));
      return;
    }
    if (message.type === 'statsResult') return;
    if (!request.accepted) {
      clearTimeout(request.timer);
      if (message.type === 'logEnd' && message.error) {
        this.pending.delete(message.requestId);
        request.reject(new AgentRequestError('refused', message.error));
        return;
      }
      request.accepted = true;
      request.accept(this.stream(message.requestId, request));
    }
    if (message.type === 'logData') {
      if (message.lines.length > 0) request.batches.push(message.lines);
    } else {
      this.pending.delete(message.requestId);
      request.ended = true;
      if (message.error) request.failure = new AgentRequestError('refused', message.error);
    }
    request.wake?.();
  }

  /** The agent's connection closed: everything it owed fails. */
  disconnected(agent: string): void {
    for (const [requestId, request] of this.pending) {
      if (request.agent === agent) this.fail(requestId, new AgentRequestError('disconnected', `agent ${agent} disconnected`));
    }
  }

  private fail(requestId: string, error: AgentRequestError): void {
    const request = this.pending.get(requestId);
    if (!request) return;
    this.pending.delete(requestId);
    clearTimeout(request.timer);
    if (request.kind === 'logs' && request.accepted) {
      request.ended = true;
      request.failure = error;
      request.wake?.();
    } else request.reject(error);
  }

  private stream(requestId: string, request: PendingLogs): LogStream {
    const stream: LogStream = {
      next: async () => {
        for (;;) {
          const batch = request.batches.shift();
          if (batch) return { value: batch, done: false };
          if (request.failure) throw request.failure;
          if (request.ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (request.wake = resolve));
          request.wake = undefined;
        }
      },
      return: async () => {
        if (this.pending.get(requestId) === request) {
          this.pending.delete(requestId);
          this.send(request.agent, { type: 'cancel', requestId });
        }
        request.ended = true;
        request.batches.length = 0;
        request.wake?.();
        return { value: undefined, done: true };
      },
      taken: (bytes) => {
        if (request.window === undefined || request.ended) return;
        request.ungranted += bytes;
        if (request.ungranted < request.window / 4) return;
        this.send(request.agent, { type: 'logCredit', requestId, bytes: request.ungranted });
        request.ungranted = 0;
      },
      [Symbol.asyncIterator]: () => stream,
    };
    return stream;
  }
}

function newRequestId(): string {
  return randomBytes(12).toString('base64url');
}

function notConnected(agent: string): AgentRequestError {
  return new AgentRequestError('notConnected', `agent ${agent} is not connected; logs and stats come from the agent`);
}
