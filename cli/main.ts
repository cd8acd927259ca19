// The `lattice` command. Subcommands arrive with the control plane, agent and client.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  return new Command('lattice')
    .description('Declarative control plane for a self-hosted, decentralized cloud')
    .version(version)
    .showHelpAfterError();
}

await buildProgram().parseAsync(process.argv);
