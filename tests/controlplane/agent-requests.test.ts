// Multiplexing logs/stats requests over agent connections: answers pair with their request, an
// agent cannot answer another's request, refusals carry the agent's reason, a disconnect or a
// silent agent fails what is pending, and a reader going away cancels the read on the agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentRequestError, AgentRequests } from '../../controlplane/agents/agent-requests.ts';
import type { ServerMessage } from '../../schemas/types.gen.ts';

function harness(connected = new Set(['a1', 'a2']), timeoutMs = 5_000) {
  const sent: { agent: string; message: ServerMessage }[] = [];
  const requests = new AgentRequests((agent, message) => {
    if (!connected.has(agent)) return false;
    sent.push({ agent, message });
    return true;
  }, timeoutMs);
  const last = () => sent[sent.length - 1]!.message as ServerMessage & { requestId: string };
  return { requests, sent, last };
}

test('stats: the answer of the agent asked resolves it; another agent answering the same id is ignored', async () => {
  const { requests, last } = harness();
  const pending = requests.stats('a1', 'uid-1');
  const { requestId } = last();
  assert.deepEqual(last(), { type: 'stats', requestId, uid: 'uid-1' });
  requests.handle('a2', { type: 'statsResult', requestId, stats: { cpuCores: 9, memoryBytes: 9 } });
  requests.handle('a1', { type: 'statsResult', requestId, stats: { cpuCores: 0.5, memoryBytes: 1024 } });
  assert.deepEqual(await pending, { cpuCores: 0.5, memoryBytes: 1024 });
});

test('refusals, disconnects, silence and unconnected agents are AgentRequestErrors saying why', async () => {
  const { requests, last } = harness(new Set(['a1']), 50);
  const refused = requests.logs('a1', 'u', { previous: true });
  requests.handle('a1', { type: 'logEnd', requestId: last().requestId, error: 'instance web-1 has no previous run' });
  await assert.rejects(refused, (e: unknown) => e instanceof AgentRequestError && e.kind === 'refused' && /no previous run/.test(e.message));
  await assert.rejects(requests.stats('gone', 'u'), (e: unknown) => e instanceof AgentRequestError && e.kind === 'notConnected' && /agent gone is not connected/.test(e.message));
  const dropped = requests.stats('a1', 'u');
  requests.disconnected('a1');
  await assert.rejects(dropped, /agent a1 disconnected/);
  await assert.rejects(requests.stats('a1', 'u'), (e: unknown) => e instanceof AgentRequestError && e.kind === 'timeout');
});

test('logs: accepted on the first answer, batches in order, end; return() cancels on the agent; a disconnect ends the stream with the reason', async () => {
  const { requests, sent, last } = harness();
  const opening = requests.logs('a1', 'u', { follow: true, tail: 10 });
  const { requestId } = last();
  assert.deepEqual(last(), { type: 'logs', requestId, uid: 'u', follow: true, tail: 10 });
  requests.handle('a1', { type: 'logData', requestId, lines: [] });
  const stream = await opening;
  requests.handle('a1', { type: 'logData', requestId, lines: ['one', 'two'] });
  requests.handle('a1', { type: 'logData', requestId, lines: ['three'] });
  assert.deepEqual((await stream.next()).value, ['one', 'two']);
  assert.deepEqual((await stream.next()).value, ['three']);
  const waiting = stream.next();
  await stream.return!();
  assert.equal((await waiting).done, true);
  assert.deepEqual(sent[sent.length - 1], { agent: 'a1', message: { type: 'cancel', requestId } });

  const second = requests.logs('a2', 'u', { follow: true });
  requests.handle('a2', { type: 'logData', requestId: last().requestId, lines: ['x'] });
  const broken = await second;
  assert.deepEqual((await broken.next()).value, ['x']);
  requests.disconnected('a2');
  await assert.rejects(broken.next(), /agent a2 disconnected/);
});
