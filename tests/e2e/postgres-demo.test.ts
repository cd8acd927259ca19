// The README's "Deploy PostgreSQL" demo, run as written: its shell block is read from README.md
// and fed, one command at a time, to a real bash in a scratch project (npx finds `lattice` there
// as in a clone; SQLite and the agent's data under ./.lattice). `lattice server` and `lattice agent`
// are real processes, the agent runs examples/postgres.yaml (image postgres:16) on a private
// dockerd (host networking: the engine has no bridge), and Debian's psql reaches the database.
// No registry is reachable, so postgres:16 is a stand-in built from Debian's PostgreSQL with the
// official image's contract (tests/support/postgres-image.ts).
//
// What the test changes in the block, each change checked to apply (README drift fails loudly):
//   - the port 8080 → a free loopback port;
//   - `NGROK_AUTHTOKEN=…optional…` dropped (no tunnel: nothing leaves the machine);
//   - the two background processes write to server.log / agent.log instead of the terminal;
//   - `<port of the host endpoint>` → the port status.endpoints shows, and what a person would type
//     at the psql prompt given as a here-document.
// Where the README's comments say to wait (for the server, the agent, Running, the first stats),
// the test waits, as a person would. After the block: the password is the one that opens the
// database from an address it does not trust, and the data outlives the instance (the volume).
// From 127.0.0.1 too, where a tunnel connects from under host networking, only the password opens
// it (the example's POSTGRES_INITDB_ARGS: the image would trust loopback otherwise).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import pg from 'pg';
import { isPortFree } from '../../agent/runtime/host-ports.ts';
import { LatticeClient } from '../../client/api-client.ts';
import type { Secret } from '../../schemas/types.gen.ts';
import { dockerUnavailableReason, startDocker, type TestDocker } from '../support/docker.ts';
import { buildPostgresImage, POSTGRES_IMAGE, postgresImageUnavailableReason } from '../support/postgres-image.ts';
import { REPO, agentReady, freePort, getAgent, getWorkload, listInstances, waitFor } from './support.ts';

const unavailable = dockerUnavailableReason() ?? postgresImageUnavailableReason();
if (unavailable) console.log(`# skipping the PostgreSQL demo test: ${unavailable}`);

/** The container port of examples/postgres.yaml; with host networking postgres listens on it. */
const POSTGRES_PORT = 5432;

// ---------------------------------------------------------------------------------------------
// The README's block

interface Step {
  /** "1", "2", … from the `# 1. …` comments. */
  number: string;
  title: string;
  /** Commands (continuation lines joined), comments and blank lines left out. */
  commands: string[];
}

function readmeSteps(): Step[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = /^## Deploy PostgreSQL\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "## Deploy PostgreSQL" section');
  const block = /^```sh\n([\s\S]*?)^```/m.exec(section)?.[1];
  assert.ok(block, 'the section has a ```sh block');
  const steps: Step[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    const heading = /^# (\d+)\. (.*)$/.exec(line);
    if (heading) {
      steps.push({ number: heading[1]!, title: heading[2]!, commands: [] });
      continue;
    }
    if (!pending && (line.trim() === '' || line.startsWith('#'))) continue;
    pending += line;
    if (pending.endsWith('\\')) {
      pending += '\n';
      continue;
    }
    assert.ok(steps.length > 0, `a command before the first "# 1." step: ${pending}`);
    steps.at(-1)!.commands.push(pending);
    pending = '';
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// A bash that runs one command at a time: it reads them from a FIFO (its stdin is /dev/null, so
// no command can swallow the next), each followed by a marker carrying its exit status.

interface Ran {
  command: string;
  status: number;
  stdout: string;
  stderr: string;
}

const MARK = '__readme_command_done__';

class Shell {
  readonly transcript: string[] = [];
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly input: WriteStream;
  private out = '';
  private err = '';
  private exited = false;

  constructor(cwd: string, env: NodeJS.ProcessEnv, fifo: string) {
    execFileSync('mkfifo', ['-m', '600', fifo]);
    // Its own process group: `npx lattice server &` and the agent die with it at the end.
    this.child = spawn('bash', ['--noprofile', '--norc', fifo], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => (this.out += chunk.toString('utf8')));
    this.child.stderr.on('data', (chunk: Buffer) => (this.err += chunk.toString('utf8')));
    this.child.once('exit', () => (this.exited = true));
    const group = -this.child.pid!;
    process.once('exit', () => {
      try {
        process.kill(group, 'SIGKILL'); // a crashed test run leaves no server or agent behind
      } catch {
        // gone
      }
    });
    this.input = createWriteStream(fifo);
    this.input.on('error', () => undefined); // bash is gone: run() says so
  }

  async run(command: string, timeoutMs = 60_000): Promise<Ran> {
    this.out = '';
    this.err = '';
    this.input.write(`${command}\nprintf '\\n${MARK} %s\\n' "$?"; printf '\\n${MARK}\\n' >&2\n`);
    const finished = new RegExp(`\\n${MARK} (\\d+)\\n$`);
    let status: number | undefined;
    try {
      await waitFor(
        () => {
          const found = finished.exec(this.out);
          if (found && this.err.endsWith(`\n${MARK}\n`)) status = Number(found[1]);
          return status !== undefined || this.exited;
        },
        timeoutMs,
        `\`${command.slice(0, 80)}\` to finish`,
      );
      if (status === undefined) throw new Error(`bash exited while running \`${command.slice(0, 80)}\``);
    } catch (error) {
      this.transcript.push(`$ ${command}\n${this.out}${this.err}(did not finish: ${(error as Error).message})`);
      throw error;
    }
    const ran = { command, status, stdout: this.out.replace(finished, ''), stderr: this.err.replace(new RegExp(`\\n${MARK}\\n$`), '') };
    this.transcript.push(`$ ${command}\n${ran.stdout}${ran.stderr ? `\n[stderr] ${ran.stderr}` : ''}\n[exit ${ran.status}]`);
    return ran;
  }

  /** Kills bash and everything it started (SIGTERM, then SIGKILL). */
  async kill(): Promise<void> {
    this.input.destroy();
    const group = -this.child.pid!;
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      try {
        process.kill(group, signal);
      } catch {
        return; // the group is gone
      }
      await new Promise((resolve) => setTimeout(resolve, signal === 'SIGTERM' ? 1_500 : 100));
    }
  }
}

/** The text of a non-TTY container's log: 8-byte frame headers (stream, 0, 0, 0, length) dropped. */
function demux(raw: Buffer): string {
  let text = '';
  for (let at = 0; at + 8 <= raw.length; ) {
    const length = raw.readUInt32BE(at + 4);
    text += raw.subarray(at + 8, at + 8 + length).toString('utf8');
    at += 8 + length;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------

/** A pg socket bound to 127.0.0.2: loopback, but not the 127.0.0.1 the image trusts. */
class From127002 extends Socket {
  override connect(...args: unknown[]): this {
    const [port, host] = args as [number, string];
    return super.connect({ port, host, localAddress: '127.0.0.2' });
  }
}

async function queryFrom127002(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, stream: () => new From127002() });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

test('README "Deploy PostgreSQL" as written: server, alice, agent, examples/postgres.yaml on Docker, psql with the generated password, logs, top, stats; the data outlives the instance', { skip: unavailable, timeout: 180_000 }, async (t) => {
  const started = Date.now();
  const phase = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const steps = readmeSteps();
  assert.deepEqual(steps.map((s) => s.number), ['1', '2', '3', '4', '5', '6'], 'the demo has steps 1 to 6');
  if (!(await isPortFree(POSTGRES_PORT))) {
    // The official image ignores PORT: with host networking it needs containerPort itself.
    const reason = `port ${POSTGRES_PORT} is in use on this machine, and the demo's postgres (host networking) listens on it`;
    if (process.env.CI === 'true') throw new Error(reason);
    t.skip(reason);
    return;
  }

  const work = mkdtempSync(join(tmpdir(), 'lattice-pg-demo-'));
  let engine: TestDocker | undefined;
  let shell: Shell | undefined;
  t.after(async () => {
    await shell?.kill();
    await engine?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  engine = await startDocker();
  const version = await buildPostgresImage(engine, join(work, 'image'));
  phase(`dockerd up, ${POSTGRES_IMAGE} built from PostgreSQL ${version}`);

  // A scratch project where `npx lattice` is this repository's (as in a clone), with its examples.
  const demo = join(work, 'demo');
  mkdirSync(join(demo, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(demo, 'package.json'), '{ "name": "lattice-readme-demo", "private": true }\n');
  symlinkSync(join(REPO, 'bin', 'lattice.js'), join(demo, 'node_modules', '.bin', 'lattice'));
  symlinkSync(join(REPO, 'examples'), join(demo, 'examples'));
  const home = join(work, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(LATTICE_|NGROK_|DOCKER_|PG)/.test(name)));
  Object.assign(env, {
    HOME: home,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    DOCKER_HOST: engine.host,
    // npx runs the project's own bin; it must never fetch a package of that name.
    npm_config_offline: 'true',
    npm_config_yes: 'false',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
  });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const applied = new Set<string>();
  const adapt = (command: string, hostPort?: number): string => {
    let out = command;
    if (out.includes('127.0.0.1:8080')) {
      out = out.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
      applied.add('port');
    }
    const background = /^(?:NGROK_AUTHTOKEN=\S+\s+)?(npx lattice (server|agent)\b.*?)\s*&$/.exec(out);
    if (background) {
      if (out.startsWith('NGROK_AUTHTOKEN=')) applied.add('no ngrok');
      out = `${background[1]} > ${background[2]}.log 2>&1 &`;
      applied.add(`log ${background[2]}`);
    }
    if (out.includes('<port of the host endpoint>')) {
      assert.ok(hostPort, 'the host port is known by step 5');
      // The trailing comment goes: the here-document follows the command.
      out = out.replace('<port of the host endpoint>', String(hostPort)).replace(/^(psql\s+"[^"]*")\s+#.*$/, '$1');
      assert.match(out, /^psql\s+"[^"]*"$/, 'psql with the URL only');
      applied.add('psql');
    }
    return out;
  };

  shell = new Shell(demo, env, join(work, 'commands.fifo'));
  const transcript = () => shell!.transcript.join('\n');
  const logOf = (name: string) => {
    try {
      return readFileSync(join(demo, `${name}.log`), 'utf8').slice(-6000);
    } catch {
      return '(none)';
    }
  };
  const diagnose = async (error: unknown) => {
    const containers = await engine!.latticeContainers().catch(() => []);
    const logs = await Promise.all(
      containers.map(async (c) => {
        const raw = (await engine!.docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail: 60 }).catch(() => Buffer.alloc(0))) as unknown as Buffer;
        return `---- container ${c.Names.join(',')} (${c.State}) ----\n${demux(raw)}`;
      }),
    );
    console.log(['', '======== README demo diagnostics ========', `failed after ${((Date.now() - started) / 1000).toFixed(1)} s: ${(error as Error).message}`, '---- shell transcript ----', transcript(), '---- server.log ----', logOf('server'), '---- agent.log ----', logOf('agent'), ...logs, '======== end ========'].join('\n'));
  };

  const runStep = async (number: string, hostPort?: number, extra: (command: string) => string = (c) => c): Promise<Ran[]> => {
    const step = steps.find((s) => s.number === number)!;
    const results: Ran[] = [];
    for (const command of step.commands) {
      const ran = await shell!.run(extra(adapt(command, hostPort)));
      assert.equal(ran.status, 0, `step ${number} (${step.title}): \`${ran.command}\` exited ${ran.status}:\n${ran.stdout}\n${ran.stderr}`);
      results.push(ran);
    }
    phase(`step ${number} done: ${step.title}`);
    return results;
  };
  /** The one command of a step's results that starts as given. */
  const find = (results: Ran[], start: string) => {
    const found = results.filter((r) => r.command.startsWith(start));
    assert.equal(found.length, 1, `one \`${start}…\` in the step: ${results.map((r) => r.command).join(' | ')}`);
    return found[0]!;
  };

  try {
    // 1. the control plane: `npx lattice server --listen 127.0.0.1:PORT &`
    await runStep('1');
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 30_000, `lattice server on ${url}`).catch((error: Error) => {
      throw new Error(`${error.message}; server.log:\n${logOf('server')}`);
    });

    // 2. register and log in; the CLI context file
    const two = await runStep('2');
    assert.equal((JSON.parse(find(two, 'curl -s -X POST $API/auth/register').stdout) as { username?: string }).username, 'alice', 'registered alice');
    const configFile = join(demo, '.lattice', 'alice.json');
    assert.equal(statSync(configFile).mode & 0o777, 0o600, 'the context file is private');
    const context = (JSON.parse(readFileSync(configFile, 'utf8')) as { currentContext: string; contexts: Record<string, { server: string; token: string; username: string }> });
    assert.equal(context.currentContext, 'alice');
    assert.equal(context.contexts.alice!.server, url);
    assert.match(context.contexts.alice!.token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the access token from the login');
    const alice = new LatticeClient({ server: url, token: context.contexts.alice!.token });

    // 3. an agent on this machine, private to alice
    await runStep('3');
    const agent = await waitFor(async () => {
      const found = await getAgent(alice, 'laptop');
      return agentReady(found) ? found : undefined;
    }, 30_000, 'agent laptop Ready').catch((error: Error) => {
      throw new Error(`${error.message}; agent.log:\n${logOf('agent')}`);
    });
    assert.ok(agent!.status?.runtimes?.includes('docker'), `the agent found the engine through DOCKER_HOST: ${JSON.stringify(agent!.status)}`);
    assert.equal(agent!.status?.dockerNetwork, 'host', 'an engine without a bridge: host networking');

    // 4. deploy: a Secret with a generated password and the Workload
    const four = await runStep('4');
    const apply = JSON.parse(four[0]!.stdout) as { results: { kind: string; name: string; action: string }[] };
    assert.deepEqual(apply.results.map((r) => [r.kind, r.name, r.action]), [['Secret', 'postgres-credentials', 'created'], ['Workload', 'postgres', 'created']]);

    // 5. wait for Running (the first exec health check, pg_isready, passes), then endpoints and psql
    await waitFor(async () => {
      const w = await getWorkload(alice, 'alice', 'postgres');
      return w?.status?.phase === 'Running' && (w.status.endpoints ?? []).length > 0;
    }, 60_000, 'the postgres Workload Running with an endpoint');
    const wlStatus = await getWorkload(alice, 'alice', 'postgres');
    const hostEndpoint = wlStatus!.status!.endpoints!.find((e) => e.expose === 'host')!;
    const hostPort = Number(new URL(hostEndpoint.url).port);
    // What a person types at the prompt; QUIET and the psets keep the output to the rows.
    const PROMPT = ['\\set ON_ERROR_STOP on', '\\set QUIET on', '\\pset tuples_only on', '\\pset format unaligned'];
    const SQL = [
      ...PROMPT,
      'CREATE TABLE visits (id serial PRIMARY KEY, who text NOT NULL);',
      "INSERT INTO visits (who) VALUES ('alice'), ('the README');",
      'SELECT who FROM visits ORDER BY id;',
      "SELECT current_user || '@' || current_database() || ' ' || current_setting('server_encoding');",
    ];
    const typed = (lines: string[]) => (command: string) => (command.startsWith('psql ') ? `${command} <<'SQL'\n${lines.join('\n')}\nSQL` : command);
    const five = await runStep('5', hostPort, typed(SQL));
    const shown = JSON.parse(five[0]!.stdout) as { phase: string; endpoints: { port: string; url: string; expose: string }[]; conditions: { type: string; status: string; reason?: string; message?: string }[] };
    assert.equal(shown.phase, 'Running');
    assert.deepEqual(shown.endpoints.map((e) => [e.port, e.url, e.expose]), [['postgres', `tcp://127.0.0.1:${POSTGRES_PORT}`, 'host']], 'host networking: the endpoint is containerPort on 127.0.0.1');
    const tunnel = shown.conditions.find((c) => c.type === 'TunnelReady');
    assert.equal(tunnel?.status, 'False', `no relay and no NGROK_AUTHTOKEN: TunnelReady=False (${JSON.stringify(tunnel)})`);
    assert.match(tunnel?.message ?? '', /no tunnel relay.*NGROK_AUTHTOKEN on the agent.*the host endpoint still works/);
    const psql = find(five, 'psql ');
    assert.deepEqual(psql.stdout.trim().split('\n'), ['alice', 'the README', 'app@app UTF8'], `psql as app in database app:\n${psql.stdout}\n${psql.stderr}`);

    // The password step 5 read is the Secret's generated one, and it is what opens the database,
    // from any address: pg_hba's last line (scram-sha-256) for 127.0.0.2, and initdb's loopback
    // lines for 127.0.0.1 — scram-sha-256 too, by the example's POSTGRES_INITDB_ARGS.
    const password = (await alice.get<Secret>('secrets', 'alice', 'postgres-credentials', { showSecrets: true })).spec.data!.password!;
    assert.match(password, /^[A-Za-z0-9]{32}$/, 'a 32-character generated password');
    const database = (pw: string) => `postgres://app:${encodeURIComponent(pw)}@127.0.0.1:${hostPort}/app`;
    const viaScram = await queryFrom127002(database(password), "SELECT count(*)::int AS n, (SELECT auth_method FROM pg_hba_file_rules ORDER BY line_number DESC LIMIT 1) AS last_rule, host(inet_client_addr()) AS client FROM visits");
    assert.deepEqual(viaScram.rows, [{ n: 2, last_rule: 'scram-sha-256', client: '127.0.0.2' }]);
    await assert.rejects(queryFrom127002(database(`${password}x`), 'SELECT 1'), (error: Error & { code?: string }) => error.code === '28P01', 'a wrong password is refused (password authentication failed)');
    const intruder = new pg.Client({ connectionString: database('not-the-password') });
    let refused: (Error & { code?: string }) | undefined;
    try {
      await intruder.connect();
    } catch (error) {
      refused = error as Error & { code?: string };
    } finally {
      await intruder.end().catch(() => undefined);
    }
    assert.equal(refused?.code, '28P01', 'from 127.0.0.1 (where a tunnel connects from under host networking) a wrong password is refused too');

    // 6. logs, top and stats (once the agent has a first sample: every 5 s)
    await waitFor(async () => {
      const stats = await alice.stats('alice', 'postgres');
      return ((stats.items[0] as { series?: unknown[] } | undefined)?.series ?? []).length > 0;
    }, 20_000, 'a first stats sample');
    const six = await runStep('6');
    // The dashboard's address is a view of the web UI (when ui/dist is built; else a 503 saying so).
    const view = await fetch(`${url}/workloads/alice/postgres`);
    if (existsSync(join(REPO, 'ui', 'dist', 'index.html'))) assert.ok(view.status === 200 && (await view.text()).includes('<html'), `the dashboard view answers: ${view.status}`);
    else assert.match(await view.text(), /the web UI is not built/);
    const logs = find(six, 'npx lattice logs postgres --tail 20');
    const logLines = logs.stdout.split('\n').filter(Boolean);
    assert.ok(logLines.length > 0 && logLines.length <= 20, `--tail 20: ${logLines.length} lines`);
    assert.ok(logLines.some((l) => l.includes('database system is ready to accept connections')), `PostgreSQL's own log:\n${logs.stdout}`);
    const [instance] = await listInstances(alice, 'alice', 'postgres');
    const top = find(six, 'npx lattice top instances').stdout.split('\n').filter(Boolean);
    assert.match(top[0]!, /^NAME\s+WORKLOAD\s+AGENT\s+CPU\s+MEMORY$/);
    assert.ok(top.some((row) => new RegExp(`^${instance!.metadata.name}\\s+postgres\\s+laptop\\s+\\S+\\s+\\d+Mi$`).test(row)), `a row for ${instance!.metadata.name}:\n${top.join('\n')}`);
    const stats = JSON.parse(find(six, 'curl -s $API/namespaces/alice/workloads/postgres/stats').stdout) as { items: { instance: string; agent: string; cpuCores: number; memoryBytes: number; series?: { at: string }[] }[] };
    assert.equal(stats.items.length, 1);
    const [item] = stats.items;
    assert.equal(item!.instance, instance!.metadata.name);
    assert.equal(item!.agent, 'laptop');
    assert.ok(typeof item!.cpuCores === 'number' && item!.memoryBytes > 0, JSON.stringify(item));
    assert.ok((item!.series ?? []).length > 0, 'a series of samples');

    // Beyond the block: delete the Workload and apply step 4 again. The Secret keeps its password,
    // a new instance mounts the same volume, the entrypoint finds the database and keeps it.
    const deleted = await shell.run('npx lattice delete workload postgres --wait');
    assert.equal(deleted.status, 0, deleted.stdout + deleted.stderr);
    assert.deepEqual(await engine.latticeContainers(), [], 'the instance and its container are gone');
    const volumes = (await engine.docker.listVolumes({ filters: { label: ['lattice.workload=alice/postgres'] } })).Volumes ?? [];
    assert.equal(volumes.length, 1, 'the data volume stays');
    const again = await runStep('4');
    assert.deepEqual((JSON.parse(again[0]!.stdout) as typeof apply).results.map((r) => [r.kind, r.action]), [['Secret', 'unchanged'], ['Workload', 'created']]);
    await waitFor(async () => {
      const live = (await listInstances(alice, 'alice', 'postgres')).filter((i) => i.metadata.uid !== instance!.metadata.uid);
      const w = await getWorkload(alice, 'alice', 'postgres');
      return live.length === 1 && w?.status?.phase === 'Running';
    }, 60_000, 'a new postgres instance Running');
    const psqlAgain = (await runStep('5', hostPort, typed([...PROMPT, 'SELECT who FROM visits ORDER BY id;']))).find((r) => r.command.startsWith('psql '))!;
    assert.deepEqual(psqlAgain.stdout.trim().split('\n'), ['alice', 'the README'], 'the rows written before');
    assert.equal((await queryFrom127002(database(password), 'SELECT count(*)::int AS n FROM visits')).rows[0].n, 2, 'the same password still opens it');
    let secondLog = '';
    for await (const chunk of alice.logs('alice', 'postgres', {})) secondLog += chunk;
    assert.match(secondLog, /Database directory appears to contain a database; Skipping initialization/);
    assert.doesNotMatch(secondLog, /init process complete/);

    assert.deepEqual([...applied].sort(), ['log agent', 'log server', 'no ngrok', 'port', 'psql'], 'every adaptation of the README block applied');
    phase('done');
  } catch (error) {
    await diagnose(error);
    throw error;
  }
});
