// What every client command shares: the session of the selected context, output helpers.
import type { Command } from 'commander';
import { openSession, type Session } from './session.ts';

/** The session of `--context` (a global option) or of the current context. */
export function sessionFor(command: Command): Promise<Session> {
  const { context } = command.optsWithGlobals() as { context?: string };
  return openSession(context ? { context } : {});
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Lists options as commander collects a repeatable flag: -f a.yaml -f b.yaml. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Commander help text: a block of examples after the options. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
