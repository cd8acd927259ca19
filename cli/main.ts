// The `lattice` entry point: runs the program, and turns any failure into lines on stderr and a
// non-zero exit status.
import { explain } from './errors.ts';
import { buildProgram } from './program.ts';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const { context } = program.opts() as { context?: string };
  let server: string | undefined;
  try {
    const { readConfig } = await import('./context.ts');
    const config = readConfig();
    server = config.contexts[context ?? process.env.LATTICE_CONTEXT ?? config.currentContext ?? '']?.server;
  } catch {
    // the config itself may be what failed
  }
  for (const line of explain(error, server)) process.stderr.write(`${line}\n`);
  process.exit((error as { exitCode?: number }).exitCode ?? 1);
}
