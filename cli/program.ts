// The `lattice` command and its subcommands.
import { Command } from 'commander';
import { registerAgentCommand } from './commands/agent.ts';
import { registerApplyCommands } from './commands/apply.ts';
import { registerDeleteCommand } from './commands/delete.ts';
import { registerDescribeCommand } from './commands/describe.ts';
import { registerGetCommand } from './commands/get.ts';
import { registerGitOpsCommand } from './commands/gitops.ts';
import { registerLoginCommands } from './commands/login.ts';
import { registerLogsCommand } from './commands/logs.ts';
import { registerTopCommand } from './commands/top.ts';
import { registerRolloutCommands } from './commands/rollout.ts';
import { registerServerCommand } from './commands/server.ts';
import { registerUpCommand } from './commands/up.ts';
import { examples } from './command-kit.ts';
import { VERSION } from './version.ts';

export function buildProgram(): Command {
  const program = new Command('lattice')
    .description('Declarative control plane for a self-hosted, decentralized cloud')
    .version(VERSION)
    .option('--context <name>', 'CLI context to use instead of the current one (env LATTICE_CONTEXT)')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `\nContexts (server + credentials) live in $LATTICE_CONFIG or ~/.config/lattice/config.json.
Every command exits non-zero on failure and says on stderr what to do.
${examples('lattice up', 'lattice login --server http://127.0.0.1:8080', 'lattice apply -f examples/hello.yaml --wait', 'lattice get workloads', 'lattice gitops examples/gitops --prune')}`,
    );
  registerUpCommand(program);
  registerServerCommand(program);
  registerAgentCommand(program);
  registerLoginCommands(program);
  registerApplyCommands(program);
  registerGetCommand(program);
  registerDescribeCommand(program);
  registerDeleteCommand(program);
  registerLogsCommand(program);
  registerTopCommand(program);
  registerRolloutCommands(program);
  registerGitOpsCommand(program);
  // kubectl diff's convention: exit 1 means "differences", so its usage errors exit 2.
  program.commands.find((c) => c.name() === 'diff')!.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  return program;
}
