// Asking the replica that holds an agent for that agent's answers (replica-routes.ts serves them).
// Logs come back as NDJSON, one {"lines": [...]} per batch and an {"error": …} if the stream
// breaks off; failures before the first batch come back as a 502 {kind, message}.
import type { InstanceStats } from '../../schemas/types.gen.ts';
import { logBytes } from '../../schemas/log-flow.ts';
import { AgentRequestError, type LogRequestOptions, type LogStream } from '../agents/agent-requests.ts';

/** As long as the holder waits for its agent, and then some. */
const STATS_TIMEOUT_MS = 15_000;

export interface ForwardedFailure {
  kind: AgentRequestError['kind'];
  message: string;
}

export type ForwardedLogMessage = { lines: string[] } | { error: ForwardedFailure };

export function replicaPath(agent: string, uid: string, what: 'logs' | 'stats'): string {
  return `/internal/v1/agents/${encodeURIComponent(agent)}/instances/${encodeURIComponent(uid)}/${what}`;
}

export async function forwardStats(url: string, credential: string, agent: string, uid: string): Promise<InstanceStats> {
  const response = await ask(url, credential, agent, replicaPath(agent, uid, 'stats'), AbortSignal.timeout(STATS_TIMEOUT_MS));
  return (await response.json()) as InstanceStats;
}

/**
 * The holder grants its agent credit as this side's reader takes lines (TCP carries the
 * back-pressure); here a batch is handed on only while the reader holds less than the window, so
 * the merge downstream sees the same bound as from an agent connected here.
 */
export async function forwardLogs(url: string, credential: string, agent: string, uid: string, options: LogRequestOptions): Promise<LogStream> {
  const query = new URLSearchParams();
  if (options.tail !== undefined) query.set('tail', String(options.tail));
  if (options.follow) query.set('follow', 'true');
  if (options.previous) query.set('previous', 'true');
  if (options.window !== undefined) query.set('window', String(options.window));
  const aborted = new AbortController();
  const response = await ask(url, credential, agent, `${replicaPath(agent, uid, 'logs')}?${query}`, aborted.signal);
  const messages = ndjson(response.body!);
  let held = 0;
  let done = false;
  let wake: (() => void) | undefined;
  const stream: LogStream = {
    next: async () => {
      if (done) return { value: undefined, done: true };
      let next: IteratorResult<ForwardedLogMessage>;
      try {
        next = await messages.next();
      } catch (error) {
        if (done) return { value: undefined, done: true };
        throw new AgentRequestError('disconnected', `the replica holding agent ${agent} broke off the log stream: ${(error as Error).message}`);
      }
      if (next.done) {
        done = true;
        return { value: undefined, done: true };
      }
      if ('error' in next.value) {
        done = true;
        throw new AgentRequestError(next.value.error.kind, next.value.error.message);
      }
      const batch = next.value.lines;
      const bytes = logBytes(batch);
      while (options.window !== undefined && !done && held > 0 && held + bytes > options.window) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
      held += bytes;
      return { value: batch, done: false };
    },
    return: async () => {
      done = true;
      aborted.abort();
      wake?.();
      return { value: undefined, done: true };
    },
    taken: (bytes) => {
      held -= bytes;
      wake?.();
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}

async function ask(url: string, credential: string, agent: string, path: string, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${credential}` }, signal });
  } catch (error) {
    throw new AgentRequestError('notConnected', `agent ${agent} is connected to the replica at ${url}, which did not answer: ${(error as Error).message}`);
  }
  if (response.ok) return response;
  const failure = (await response.json().catch(() => undefined)) as Partial<ForwardedFailure> | undefined;
  if (failure?.kind && failure.message) throw new AgentRequestError(failure.kind, failure.message);
  throw new AgentRequestError('notConnected', `the replica at ${url} holding agent ${agent} answered ${response.status}: ${JSON.stringify(failure ?? {})}`);
}

async function* ndjson(body: ReadableStream<Uint8Array>): AsyncGenerator<ForwardedLogMessage> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line) yield JSON.parse(line) as ForwardedLogMessage;
    }
  }
}
