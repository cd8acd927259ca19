// Flow control of a followed log, end to end between the agent's request handler (over a real
// process runtime, whose process writes about 5 MB/s of numbered lines) and the control plane's
// request multiplexer: with a window, a reader that takes nothing stops the agent's read after
// the window, and taking lines resumes it where it stopped (nothing lost, nothing cut); without
// one, the agent sends all it reads.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AgentRequestHandler } from '../../agent/answer-requests.ts';
import { AgentRequests, type LogStream } from '../../controlplane/agents/agent-requests.ts';
import { logBytes } from '../../schemas/log-flow.ts';
import type { AgentMessage, ServerMessage } from '../../schemas/types.gen.ts';
import { NODE, openRuntime, sleep, spec, tempDataDir, waitFor } from './process-helpers.ts';

const WINDOW = 64 * 1024;
const LINE_OVERSHOOT = 65_537;
// 50 lines of ~1 KB every 10 ms, each numbered.
const CHATTY = "let i = 0; setInterval(() => { for (let k = 0; k < 50; k++) console.log(String(i++).padStart(8, '0') + ' ' + 'x'.repeat(1000)); }, 10)";

/** The two ends wired as the agent's WebSocket would (each message on a later turn), counting what the agent sends. */
async function wire(t: TestContext) {
  const runtime = await openRuntime(t, { dataDir: tempDataDir(t) });
  const s = spec({ command: [NODE, '-e', CHATTY] });
  await runtime.deploy(s);
  await waitFor(() => runtime.list().find((i) => i.uid === s.uid && i.state === 'Running'), 'Running');
  const sent = { bytes: 0 };
  let handler: AgentRequestHandler;
  const requests = new AgentRequests((_agent, message: ServerMessage) => {
    setImmediate(() => handler.handle(message as Parameters<AgentRequestHandler['handle']>[0]));
    return true;
  });
  handler = new AgentRequestHandler(
    runtime,
    (message: AgentMessage) => {
      if (message.type === 'logData') sent.bytes += logBytes(message.lines);
      setImmediate(() => requests.handle('a1', message as Parameters<AgentRequests['handle']>[1]));
    },
    () => 0,
  );
  t.after(() => handler.cancelAll());
  return { uid: s.uid, requests, sent };
}

/** Takes what the stream has for ms, granting it back; the numbers of the lines taken. */
async function drain(stream: LogStream, ms: number): Promise<number[]> {
  const numbers: number[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const next = await Promise.race([stream.next(), sleep(until - Date.now()).then(() => undefined)]);
    if (!next || next.done) break;
    for (const line of next.value) numbers.push(Number(/^(\d{8}) /.exec(line)?.[1]));
    stream.taken(logBytes(next.value));
  }
  return numbers;
}

test('a followed log with a window: the agent stops reading at the window while nothing is taken, and goes on from there when lines are', async (t) => {
  const { uid, requests, sent } = await wire(t);
  const stream = await requests.logs('a1', uid, { follow: true, tail: 0, window: WINDOW });
  await sleep(1_500); // ~7 MB logged meanwhile
  assert.ok(sent.bytes <= WINDOW + LINE_OVERSHOOT, `the agent sent ${sent.bytes} bytes with nothing taken: no more than its window`);
  const paused = sent.bytes;

  const numbers = await drain(stream, 1_000);
  assert.ok(sent.bytes > paused + 4 * WINDOW, `taking lines lets the agent go on (${paused} → ${sent.bytes} bytes)`);
  assert.ok(numbers.length > 100 && numbers.every((n) => Number.isInteger(n)), `numbered lines: ${numbers.length}`);
  numbers.forEach((n, i) => i > 0 && assert.equal(n, numbers[i - 1]! + 1, `line ${i} follows line ${i - 1}: nothing skipped while paused`));
  await stream.return!();
});

test('without a window the agent sends everything it reads, taken or not', async (t) => {
  const { uid, requests, sent } = await wire(t);
  const stream = await requests.logs('a1', uid, { follow: true, tail: 0 });
  await sleep(1_500);
  assert.ok(sent.bytes > 16 * WINDOW, `the agent sent ${sent.bytes} bytes nobody took`);
  await stream.return!();
});
