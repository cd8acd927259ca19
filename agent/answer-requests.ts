// The agent's side of logs and stats requests: lines go back in batches (at most BATCH lines, or
// what came within FLUSH_MS), waiting while the socket has much unsent. A request with a window
// is flow-controlled: past the bytes its reader has not yet taken (logCredit grants them back) the
// agent stops reading the log, so a reader that is behind slows the read down instead of filling
// the control plane. A cancel (the reader went away) or a lost connection ends the read at once. Every logs request is answered first with a
// logData (possibly empty) once it is accepted, or a logEnd with the reason it is not, so the
// control plane can answer its HTTP request with a proper status.
import type { AgentMessage, ServerMessage } from '../schemas/types.gen.ts';
import type { InstanceRuntime } from './runtime/types.ts';
import { MAX_LOG_LINE, logBytes } from '../schemas/log-flow.ts';
import { reported, type StatsHistory } from './stats-history.ts';

type Request = Extract<ServerMessage, { type: 'logs' | 'logCredit' | 'cancel' | 'stats' }>;

const BATCH = 500;
/** The control plane takes messages of up to 1 MiB. */
const BATCH_BYTES = 256 * 1024;
const FLUSH_MS = 25;
/** How long a read may take to show it works before it is acknowledged as accepted anyway (follow, no lines yet). */
const ACCEPT_MS = 300;
const HIGH_WATER_BYTES = 1024 * 1024;

/** A flow-controlled read: bytes it may still send, and who waits for more. */
interface Credit {
  bytes: number;
  wake?: () => void;
}

export class AgentRequestHandler {
  private readonly reads = new Map<string, AsyncIterator<string>>();
  private readonly credits = new Map<string, Credit>();

  constructor(
    private readonly runtime: InstanceRuntime,
    private readonly send: (message: AgentMessage) => void,
    private readonly unsentBytes: () => number,
    /** What the instance used lately, sent with the current reading. */
    private readonly history?: StatsHistory,
  ) {}

  handle(request: Request): void {
    if (request.type === 'cancel') this.cancel(request.requestId);
    else if (request.type === 'logCredit') this.grant(request.requestId, request.bytes);
    else if (request.type === 'stats') void this.stats(request.requestId, request.uid);
    else void this.logs(request);
  }

  cancelAll(): void {
    for (const requestId of [...this.reads.keys()]) this.cancel(requestId);
  }

  private cancel(requestId: string): void {
    const read = this.reads.get(requestId);
    this.reads.delete(requestId);
    this.credits.get(requestId)?.wake?.();
    this.credits.delete(requestId);
    void read?.return?.().catch(() => undefined);
  }

  private grant(requestId: string, bytes: number): void {
    const credit = this.credits.get(requestId);
    if (!credit) return;
    credit.bytes += bytes;
    credit.wake?.();
  }

  private async stats(requestId: string, uid: string): Promise<void> {
    try {
      const stats = reported(await this.runtime.stats(uid));
      const series = this.history?.of(uid) ?? [];
      this.send({ type: 'statsResult', requestId, stats: { ...stats, ...(series.length ? { series } : {}) } });
    } catch (error) {
      this.send({ type: 'statsResult', requestId, error: reason(error) });
    }
  }

  private async logs(request: Extract<Request, { type: 'logs' }>): Promise<void> {
    const { requestId } = request;
    if (this.reads.has(requestId)) return;
    if (!this.runtime.specOf(request.uid)) {
      this.send({ type: 'logEnd', requestId, error: `instance ${request.uid} does not run on this agent` });
      return;
    }
    const iterator = this.runtime
      .logs(request.uid, {
        ...(request.tail !== undefined ? { tail: request.tail } : {}),
        ...(request.follow !== undefined ? { follow: request.follow } : {}),
        ...(request.previous !== undefined ? { previous: request.previous } : {}),
      })
      [Symbol.asyncIterator]();
    this.reads.set(requestId, iterator);
    const credit: Credit | undefined = request.window !== undefined ? { bytes: request.window } : undefined;
    if (credit) this.credits.set(requestId, credit);
    const live = () => this.reads.get(requestId) === iterator;
    let batch: string[] = [];
    let batchBytes = 0;
    let acknowledged = false;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (!live() || (acknowledged && batch.length === 0)) return;
      this.send({ type: 'logData', requestId, lines: batch });
      if (credit) credit.bytes -= batchBytes;
      acknowledged = true;
      batch = [];
      batchBytes = 0;
    };
    const accept = setTimeout(flush, ACCEPT_MS);
    try {
      for (;;) {
        // Out of credit: send what is batched and read no further until the reader takes some.
        if (credit && credit.bytes - batchBytes <= 0) {
          flush();
          while (live() && credit.bytes <= 0) await new Promise<void>((resolve) => (credit.wake = resolve));
          credit.wake = undefined;
          if (!live()) break;
        }
        const next = await iterator.next();
        if (next.done || !live()) break;
        const line = next.value.length > MAX_LOG_LINE ? next.value.slice(0, MAX_LOG_LINE) : next.value;
        batch.push(line);
        batchBytes += logBytes([line]);
        if (batch.length >= BATCH || batchBytes >= BATCH_BYTES || (credit && batchBytes >= credit.bytes)) {
          flush();
          while (live() && this.unsentBytes() > HIGH_WATER_BYTES) await new Promise((resolve) => setTimeout(resolve, 50));
        } else timer ??= setTimeout(flush, FLUSH_MS);
      }
      flush();
      if (live()) this.send({ type: 'logEnd', requestId });
    } catch (error) {
      if (acknowledged) flush();
      if (live()) this.send({ type: 'logEnd', requestId, error: reason(error) });
    } finally {
      clearTimeout(accept);
      clearTimeout(timer);
      if (live()) {
        this.reads.delete(requestId);
        this.credits.delete(requestId);
      }
    }
  }
}

function reason(error: unknown): string {
  return ((error as Error).message ?? String(error)).slice(0, 1024);
}
