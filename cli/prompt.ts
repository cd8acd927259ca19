// Questions on the terminal (the password not echoed), or answers read line by line from stdin
// when it is not a terminal: `printf 'alice\nsecret\n' | lattice login --server URL`.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './errors.ts';

export interface Prompter {
  ask(question: string, options?: { hidden?: boolean }): Promise<string>;
  close(): void;
}

export function openPrompter(): Prompter {
  const terminal = Boolean(process.stdin.isTTY);
  let muted = false;
  // readline echoes what is typed to its output; while muted, the echo goes nowhere.
  const echo = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output: echo, terminal });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async ask(question, options = {}) {
      // Piped answers need no questions.
      if (terminal) process.stderr.write(question);
      muted = Boolean(options.hidden) && terminal;
      const next = await lines.next();
      muted = false;
      if (options.hidden && terminal) process.stderr.write('\n');
      if (next.done) throw new CliError(`no answer to "${question.trim()}": run this in a terminal, pipe the answers on stdin, or use --token`);
      // A password is taken as typed; only the line ending goes.
      const answer = String(next.value).replace(/\r$/, '');
      return options.hidden ? answer : answer.trim();
    },
    close: () => rl.close(),
  };
}
