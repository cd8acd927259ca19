// Errors the CLI reports: what went wrong and what to do about it, on stderr, with an exit code.
import { LatticeApiError } from '../client/api-client.ts';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What to do next, by HTTP status. */
const HINTS: Record<number, string> = {
  401: 'log in again: `lattice login` (or check the token of the context: `lattice config get-contexts`)',
  403: 'check the namespace (-n) and that your user may do this (`lattice whoami`)',
  409: 'the object changed meanwhile: read it again and retry',
  429: 'wait a little and retry',
};

/** The lines to print for a failure (the first one starts with "error:"). */
export function explain(error: unknown, server?: string): string[] {
  if (error instanceof CliError) return [`error: ${error.message}`];
  if (error instanceof LatticeApiError) {
    const lines = [`error: ${error.body.message || error.message}`];
    const details = error.body.details ?? [];
    // A single detail is already the message; several are listed one per line.
    if (details.length > 1) for (const d of details) lines.push(`  ${d.path ? `${d.path}: ` : ''}${d.message}`);
    const hint = HINTS[error.status];
    if (hint) lines.push(`hint: ${hint}`);
    return lines;
  }
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (error instanceof TypeError && cause) {
    const where = server ? ` at ${server}` : '';
    return [`error: cannot reach the control plane${where} (${cause.code ?? cause.message})`, 'hint: is `lattice up` or `lattice server` running there? `lattice config get-contexts` shows the server of each context'];
  }
  return [`error: ${(error as Error)?.message ?? String(error)}`];
}
