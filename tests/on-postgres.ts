// `npm run test:postgres [files…]`: the given test files (by default the API's) with every test
// server on its own database of one throwaway PostgreSQL cluster instead of a SQLite file
// (LATTICE_TEST_POSTGRES; tests/support/server.ts), so the suite shows the server behaves the same
// as one replica on PostgreSQL.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { postgresUnavailableReason, startPostgres } from './support/postgres.ts';

const files = process.argv.slice(2);
// With CI=true a missing PostgreSQL throws here: these must run.
const unavailable = postgresUnavailableReason();
if (unavailable) {
  console.log(`# skipping the API tests on PostgreSQL: ${unavailable}`);
  process.exit(0);
}
const postgres = await startPostgres();
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...(files.length > 0 ? files : apiTests())], {
    stdio: 'inherit',
    env: { ...process.env, LATTICE_TEST_POSTGRES: postgres.url },
  });
  child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});
await postgres.stop();
process.exit(code);

/** tests/api/*.test.ts (node 20's test runner takes files, not patterns). */
function apiTests(): string[] {
  return readdirSync('tests/api')
    .filter((file) => file.endsWith('.test.ts'))
    .sort()
    .map((file) => `tests/api/${file}`);
}
