// The `lattice` command.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerServerCommand } from './commands/server.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('lattice')
    .description('Declarative control plane for a self-hosted, decentralized cloud')
    .version(version)
    .showHelpAfterError();
  registerServerCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
