// What runs, as the agents see it: a workload's logs (streamed from the agents its instances run
// on, through their WebSocket) and its CPU/memory per instance.
//   GET /namespaces/:ns/workloads/:name/logs?follow&tail&instance&previous   text/plain, one line per line
//   GET /namespaces/:ns/workloads/:name/stats
//     → { items: [{ instance, agent, cpuCores, memoryBytes }] }, or { instance, agent, error } for an
//       instance whose agent could not answer (not connected, …).
// With several instances (and no ?instance=), log lines are prefixed with "[instance] ".
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Instance, WorkloadStats } from '../../schemas/types.gen.ts';
import { WORKLOAD_LABEL } from '../../schemas/labels-and-finalizers.ts';
import { canUseNamespace } from '../auth/principal.ts';
import { ApiError, forbidden, notFound } from '../errors.ts';
import { AgentRequestError, type LogStream } from '../agents/agent-requests.ts';
import { ConcurrentPerUser } from '../user-limits.ts';
import { MAX_LOG_LINE, logBytes } from '../../schemas/log-flow.ts';

const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 } as const;
const params = { type: 'object', required: ['namespace', 'name'], properties: { namespace: dnsLabel, name: dnsLabel } } as const;
const logsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    follow: { type: 'boolean', default: false },
    tail: { type: 'integer', minimum: 0, maximum: 100_000 },
    instance: dnsLabel,
    previous: { type: 'boolean', default: false },
  },
} as const;

interface LogsQuery {
  follow: boolean;
  tail?: number;
  instance?: string;
  previous: boolean;
}

function toApiError(error: unknown): unknown {
  if (!(error instanceof AgentRequestError)) return error;
  return error.kind === 'refused' ? notFound(error.message) : new ApiError('ServiceUnavailable', error.message);
}

/** The workload's instances bound to an agent (one of them with ?instance=). */
async function placedInstances(app: FastifyInstance, request: FastifyRequest, instanceName?: string): Promise<(Instance & { spec: { agent: string } })[]> {
  const { namespace, name } = request.params as { namespace: string; name: string };
  if (!canUseNamespace(request.principal, namespace)) throw forbidden(`you have no access to namespace ${JSON.stringify(namespace)}`);
  await app.store.get({ kind: 'Workload', namespace, name }); // 404 when there is no such workload
  const { items } = await app.store.list({ kind: 'Instance', namespace, labelSelector: `${WORKLOAD_LABEL}=${name}` });
  const instances = (items as Instance[]).filter((i) => i.spec.workload === name);
  if (instanceName !== undefined) {
    const instance = instances.find((i) => i.metadata.name === instanceName);
    if (!instance) throw notFound(`instance: workload ${name} has no instance ${instanceName} (see GET /api/v1/namespaces/${namespace}/instances)`);
    if (!instance.spec.agent) throw new ApiError('ServiceUnavailable', `instance ${instanceName} is not placed on an agent yet`);
    return [instance as Instance & { spec: { agent: string } }];
  }
  return instances.filter((i): i is Instance & { spec: { agent: string } } => i.spec.agent !== undefined && i.metadata.deletionTimestamp === undefined);
}

/** Bytes of log lines one request's agents may send ahead of its reader, shared by its streams. */
export const LOG_STREAM_BUFFER_BYTES = 1024 * 1024;

/** One stream's flow-control window: its share of the buffer, 16–256 KB. */
export function logWindow(streams: number): number {
  return Math.min(256 * 1024, Math.max(16 * 1024, Math.floor(LOG_STREAM_BUFFER_BYTES / Math.max(1, streams))));
}

/**
 * An agent may pass its window by the line that crossed it: at most MAX_LOG_LINE UTF-16 units,
 * each at most 3 bytes in UTF-8, plus its newline.
 */
const LINE_OVERSHOOT = 3 * MAX_LOG_LINE + 1;

/**
 * Lines of every stream as they come; a stream that breaks off ends with a line saying why.
 * Lines are granted back to their agent (flow control) as they are handed to the HTTP response,
 * which stops taking them while the reader is behind: the agents then stop reading the logs, and
 * the server holds at most the windows. An agent that sends past its window (one from before flow
 * control, or one that misbehaves) has its read cancelled, with a last line saying so.
 */
async function* mergeLines(streams: { prefix: string; stream: LogStream }[], window: number): AsyncGenerator<string> {
  const queue: { text: string; stream?: LogStream; bytes: number }[] = [];
  const ahead = new Map<LogStream, number>();
  let open = streams.length;
  let wake: (() => void) | undefined;
  for (const { prefix, stream } of streams) {
    void (async () => {
      try {
        for await (const batch of stream) {
          const bytes = logBytes(batch);
          const held = (ahead.get(stream) ?? 0) + bytes;
          ahead.set(stream, held);
          queue.push({ text: batch.map((line) => `${prefix}${line}\n`).join(''), stream, bytes });
          if (held > window + LINE_OVERSHOOT) {
            queue.push({ text: `${prefix}(log stream cut: the agent sent more than ${window} bytes ahead of the reader; ask again, e.g. with a tail)\n`, bytes: 0 });
            await stream.return?.();
          }
          wake?.();
        }
      } catch (error) {
        queue.push({ text: `${prefix}(log stream ended: ${(error as Error).message})\n`, bytes: 0 });
      } finally {
        open -= 1;
        wake?.();
      }
    })();
  }
  try {
    for (;;) {
      if (queue.length > 0) {
        // One chunk per wake-up rather than per line; what it holds is the reader's now.
        const taken = queue.splice(0);
        for (const { stream, bytes } of taken) {
          if (!stream || bytes === 0) continue;
          ahead.set(stream, ahead.get(stream)! - bytes);
          stream.taken(bytes);
        }
        yield taken.map((entry) => entry.text).join('');
        continue;
      }
      if (open === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    await Promise.all(streams.map(({ stream }) => stream.return?.()));
  }
}

export async function workloadRuntimeRoutes(app: FastifyInstance): Promise<void> {
  const logStreams = new ConcurrentPerUser(app.config.limits.logStreamsPerUser, 'log streams');
  app.get('/namespaces/:namespace/workloads/:name/logs', { schema: { params, querystring: logsQuery } }, async (request, reply) => {
    const release = logStreams.acquire(request.principal.username);
    reply.raw.once('close', release);
    const query = request.query as LogsQuery;
    const instances = await placedInstances(app, request, query.instance);
    const { name } = request.params as { name: string };
    if (instances.length === 0) throw new ApiError('ServiceUnavailable', `workload ${name} has no instance on an agent yet`);
    const window = logWindow(instances.length);
    const options = { follow: query.follow, previous: query.previous, window, ...(query.tail !== undefined ? { tail: query.tail } : {}) };
    const opened = await Promise.allSettled(instances.map((i) => app.agentRequests.logs(i.spec.agent, i.metadata.uid!, options)));
    const streams = opened.flatMap((result, i) => (result.status === 'fulfilled' ? [{ prefix: instances.length > 1 ? `[${instances[i]!.metadata.name}] ` : '', stream: result.value }] : []));
    const failure = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (streams.length === 0) throw toApiError(failure!.reason);
    // One chunk ahead of the response: what the reader has not taken stays with the agents.
    const body = Readable.from(mergeLines(streams, window), { highWaterMark: 1 });
    // The reader went away: stop the reads on the agents.
    reply.raw.once('close', () => body.destroy());
    reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store');
    return reply.send(body);
  });

  app.get('/namespaces/:namespace/workloads/:name/stats', { schema: { params } }, async (request) => {
    const instances = await placedInstances(app, request);
    const items = await Promise.all(
      instances.map(async (instance) => {
        const base = { instance: instance.metadata.name, agent: instance.spec.agent };
        try {
          return { ...base, ...(await app.agentRequests.stats(instance.spec.agent, instance.metadata.uid!)) };
        } catch (error) {
          return { ...base, error: (error as Error).message };
        }
      }),
    );
    return { items } satisfies WorkloadStats;
  });
}
