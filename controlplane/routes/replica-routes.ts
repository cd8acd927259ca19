// What one replica asks another: the answers of an agent connected here (agent-request-router.ts
// forwards to these). Only the replica credential opens them; the asking replica has already
// authorised its user for the instance, and the agent answers only for its own instances.
//   GET /internal/v1/agents/:agent/instances/:uid/stats   → InstanceStats, or 502 {kind, message}
//   GET /internal/v1/agents/:agent/instances/:uid/logs?tail&follow&previous&window → NDJSON
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { logBytes } from '../../schemas/log-flow.ts';
import { AgentRequestError, type LogStream } from '../agents/agent-requests.ts';
import type { ForwardedFailure, ForwardedLogMessage } from '../replicas/replica-client.ts';

const params = {
  type: 'object',
  required: ['agent', 'uid'],
  properties: { agent: { type: 'string', maxLength: 253 }, uid: { type: 'string', maxLength: 64 } },
} as const;
const logsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tail: { type: 'integer', minimum: 0, maximum: 100_000 },
    follow: { type: 'boolean', default: false },
    previous: { type: 'boolean', default: false },
    window: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024 },
  },
} as const;

function failure(reply: FastifyReply, error: unknown): ForwardedFailure {
  if (!(error instanceof AgentRequestError)) throw error;
  reply.code(502);
  return { kind: error.kind, message: error.message };
}

/** Each batch as one NDJSON line; credit goes back to the agent as the asking replica reads. */
async function* forwardedLines(stream: LogStream): AsyncGenerator<string> {
  try {
    for await (const lines of stream) {
      yield `${JSON.stringify({ lines } satisfies ForwardedLogMessage)}\n`;
      stream.taken(logBytes(lines));
    }
  } catch (error) {
    if (!(error instanceof AgentRequestError)) throw error;
    yield `${JSON.stringify({ error: { kind: error.kind, message: error.message } } satisfies ForwardedLogMessage)}\n`;
  } finally {
    await stream.return?.();
  }
}

export async function replicaRoutes(app: FastifyInstance): Promise<void> {
  const config = { replica: true };
  app.get('/agents/:agent/instances/:uid/stats', { config, schema: { params } }, async (request, reply) => {
    const { agent, uid } = request.params as { agent: string; uid: string };
    try {
      return await app.agentGateway.requests.stats(agent, uid);
    } catch (error) {
      return failure(reply, error);
    }
  });

  app.get('/agents/:agent/instances/:uid/logs', { config, schema: { params, querystring: logsQuery } }, async (request, reply) => {
    const { agent, uid } = request.params as { agent: string; uid: string };
    const { tail, follow, previous, window } = request.query as { tail?: number; follow: boolean; previous: boolean; window?: number };
    let stream: LogStream;
    try {
      stream = await app.agentGateway.requests.logs(agent, uid, { follow, previous, ...(tail !== undefined ? { tail } : {}), ...(window !== undefined ? { window } : {}) });
    } catch (error) {
      return failure(reply, error);
    }
    const body = Readable.from(forwardedLines(stream), { highWaterMark: 1 });
    reply.raw.once('close', () => body.destroy());
    reply.header('content-type', 'application/x-ndjson').header('cache-control', 'no-store');
    return reply.send(body);
  });
}
