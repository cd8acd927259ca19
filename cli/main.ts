// The `lattice` command.
import { Command } from 'commander';
import { registerAgentCommand } from './commands/agent.ts';
import { registerLogsCommand } from './commands/logs.ts';
import { registerServerCommand } from './commands/server.ts';
import { registerUpCommand } from './commands/up.ts';
import { VERSION } from './version.ts';

export function buildProgram(): Command {
  const program = new Command('lattice')
    .description('Declarative control plane for a self-hosted, decentralized cloud')
    .version(VERSION)
    .showHelpAfterError();
  registerServerCommand(program);
  registerAgentCommand(program);
  registerUpCommand(program);
  registerLogsCommand(program);
  return program;
}

await buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(`error: ${(error as Error).message ?? String(error)}`);
    process.exit(1);
  });
