// The CLI's pure parts, table-tested: durations and ages, manifest parsing and error location,
// GitOps assembly of broken files, diff and rollout formatting; and help on every command.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { ngrokServerAddr } from '../../cli/commands/agent.ts';
import { formatChange, formatPlacement } from '../../cli/commands/apply.ts';
import { defaultApplySet } from '../../cli/commands/gitops.ts';
import { changedFields, undoTarget } from '../../cli/commands/rollout.ts';
import { humanDuration, parseDuration } from '../../cli/duration.ts';
import { assemble, type FileRead } from '../../cli/gitops/assemble.ts';
import { kindAndName } from '../../cli/kinds.ts';
import { describeProblems, parseManifestText, type Manifest } from '../../cli/manifests.ts';
import { buildProgram } from '../../cli/program.ts';
import { formatTable } from '../../cli/output/table.ts';

test('parseDuration: 30s, 5m, 1h30m, 500ms; anything else says what it wants', () => {
  const cases: [string, number][] = [['30s', 30_000], ['5m', 300_000], ['1h30m', 5_400_000], ['500ms', 500], ['1.5s', 1_500], ['2d', 172_800_000]];
  for (const [text, ms] of cases) assert.equal(parseDuration(text, '--interval'), ms, text);
  for (const bad of ['', '30', 's', '5 m', '1h-2m', '10x']) assert.throws(() => parseDuration(bad, '--interval'), /--interval must be a duration such as 30s/, bad);
});

test('humanDuration follows kubectl: seconds, minutes and seconds, minutes, hours, days', () => {
  const s = 1000;
  const cases: [number, string][] = [[0, '0s'], [59 * s, '59s'], [119 * s, '119s'], [150 * s, '2m30s'], [300 * s, '5m'], [42 * 60 * s, '42m'], [200 * 60 * s, '3h20m'], [30 * 3600 * s, '30h'], [164 * 3600 * s, '6d20h'], [40 * 86400 * s, '40d'], [800 * 86400 * s, '2y'], [-5 * s, '0s']];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
});

test('--ngrok-server-addr takes host:port (a name, an IPv4 or a bracketed IPv6 address)', () => {
  for (const ok of ['127.0.0.1:4443', 'edge.example.net:443', '[::1]:443']) assert.equal(ngrokServerAddr(ok), ok);
  for (const bad of ['127.0.0.1', 'edge:0', 'edge:65536', ':443', '::1:443', 'a b:1']) assert.throws(() => ngrokServerAddr(bad), /--ngrok-server-addr \(or NGROK_SERVER_ADDR\) takes host:port/, bad);
});

test('kindAndName: aliases and KIND/NAME', () => {
  const cases: [string, string | undefined, string, string | undefined][] = [
    ['wl', 'web', 'Workload', 'web'],
    ['workloads', undefined, 'Workload', undefined],
    ['inst', undefined, 'Instance', undefined],
    ['agents', 'laptop', 'Agent', 'laptop'],
    ['workload/web', undefined, 'Workload', 'web'],
    ['ev', undefined, 'Event', undefined],
    ['Secret', 'db', 'Secret', 'db'],
  ];
  for (const [kind, name, expectedKind, expectedName] of cases) assert.deepEqual([kindAndName(kind, name).info.kind, kindAndName(kind, name).name], [expectedKind, expectedName]);
  assert.throws(() => kindAndName('pods', undefined), /unknown kind "pods"/);
  assert.throws(() => kindAndName('wl/web', 'other'), /give the name once/);
});

test('parseManifestText: documents, Lists and arrays; errors name the file and document', () => {
  const yaml = 'kind: Workload\nmetadata: {name: a}\n---\n# empty\n---\nkind: List\nitems:\n  - {kind: Workload, metadata: {name: b}}\n  - {kind: Secret, metadata: {name: c}, spec: {data: {k: v}}}\n';
  assert.deepEqual(parseManifestText(yaml, 'x.yaml').map((m) => [m.object.metadata?.name, m.source.document]), [['a', 1], ['b', 3], ['c', 3]]);
  assert.deepEqual(parseManifestText('[{"kind":"Workload","metadata":{"name":"j"}}]', 'x.json').map((m) => m.object.metadata?.name), ['j']);
  assert.throws(() => parseManifestText('a: 1\n---\nb: [\n', 'y.yaml'), /^CliError: y\.yaml \(document 2\): .* at line \d+, column \d+$/);
  assert.throws(() => parseManifestText('{"kind":', 'z.json'), /^CliError: z\.json: not valid JSON/);
  assert.throws(() => parseManifestText('- 3\n', 'n.yaml'), /n\.yaml \(document 1\): expected an object/);
  assert.throws(() => parseManifestText('kind: Secret\nmetadata: {name: s}\nspec: {data: {password: <redacted>}}\n', 's.yaml'), /s\.yaml \(document 1\): Secret s: spec\.data\.password is the placeholder <redacted>/);
});

test('describeProblems maps the server’s [i] paths and messages back to files', () => {
  const sources = [
    { file: 'a.yaml', document: 1 },
    { file: 'b.yaml', document: 2 },
  ];
  const invalid = { code: 422, reason: 'Invalid', message: '…', details: [{ path: '[1].spec.replicas', message: 'must be an integer from 0 to 1000' }, { path: '[0]', message: 'Workload a appears twice' }] };
  assert.deepEqual(describeProblems(invalid, sources), ['b.yaml (document 2): spec.replicas: must be an integer from 0 to 1000', 'a.yaml (document 1): Workload a appears twice']);
  const forbidden = { code: 403, reason: 'Forbidden', message: '[1] Workload b: you may not write to namespace "x"', details: [] };
  assert.deepEqual(describeProblems(forbidden, sources), ['b.yaml (document 2): Workload b: you may not write to namespace "x"']);
  const single = { code: 422, reason: 'Invalid', message: '…', details: [{ path: 'spec.ports[0].containerPort', message: 'must be an integer from 1 to 65535' }] };
  assert.deepEqual(describeProblems(single, [sources[0]!]), ['a.yaml (document 1): spec.ports[0].containerPort: must be an integer from 1 to 65535']);
  assert.deepEqual(describeProblems({ code: 409, reason: 'Conflict', message: 'something moved', details: [] }, sources), ['something moved']);
});

function manifests(file: string, ...names: string[]): Manifest[] {
  return names.map((name) => ({ object: { kind: 'Workload', metadata: { name } }, source: { file, document: 1 } }));
}

test('assemble: broken files keep their last good objects; without one, nothing is pruned', () => {
  const good = new Map([['a.yaml', manifests('a.yaml', 'a-old')], ['b.yaml', manifests('b.yaml', 'b-old')]]);
  const cases: { name: string; reads: FileRead[]; rejected?: [string, string][]; abandoned?: string[]; names: string[]; problems: string[]; pruneSafe: boolean }[] = [
    { name: 'all good', reads: [{ file: 'a.yaml', manifests: manifests('a.yaml', 'a') }, { file: 'c.yaml', manifests: manifests('c.yaml', 'c') }], names: ['a', 'c'], problems: [], pruneSafe: true },
    { name: 'a parse error: the last good objects stand in', reads: [{ file: 'a.yaml', error: 'a.yaml: bad' }, { file: 'c.yaml', manifests: manifests('c.yaml', 'c') }], names: ['a-old', 'c'], problems: ['a.yaml: bad (kept)'], pruneSafe: true },
    { name: 'refused by the server: the same', reads: [{ file: 'b.yaml', manifests: manifests('b.yaml', 'b') }], rejected: [['b.yaml', 'b.yaml: spec: invalid']], names: ['b-old'], problems: ['b.yaml: spec: invalid (kept)'], pruneSafe: true },
    { name: 'broken with no good state: contributes nothing, prune is unsafe', reads: [{ file: 'new.yaml', error: 'new.yaml: bad' }, { file: 'c.yaml', manifests: manifests('c.yaml', 'c') }], names: ['c'], problems: ['new.yaml: bad'], pruneSafe: false },
    { name: 'last good refused too: abandoned, prune is unsafe', reads: [{ file: 'a.yaml', manifests: manifests('a.yaml', 'a') }], rejected: [['a.yaml', 'a.yaml: no']], abandoned: ['a.yaml'], names: [], problems: ['a.yaml: no'], pruneSafe: false },
    { name: 'a deleted file simply is not read', reads: [], names: [], problems: [], pruneSafe: true },
  ];
  for (const c of cases) {
    const result = assemble(c.reads, { lastGood: good, rejected: new Map(c.rejected ?? []), abandoned: new Set(c.abandoned ?? []) });
    assert.deepEqual(result.manifests.map((m) => m.object.metadata?.name), c.names, c.name);
    assert.deepEqual(result.problems.map((p) => `${p.message}${p.keptLastGood ? ' (kept)' : ''}`), c.problems, c.name);
    assert.equal(result.pruneSafe, c.pruneSafe, c.name);
  }
});

test('defaultApplySet names the set after the directory', () => {
  assert.equal(defaultApplySet('examples/gitops'), 'gitops-gitops');
  assert.equal(defaultApplySet('/srv/My Site_v2/'), 'gitops-my-site-v2');
  assert.equal(defaultApplySet(`/x/${'a'.repeat(80)}`).length, 63);
});

test('diff formatting: one line per field change, placement per agent', () => {
  assert.equal(formatChange({ path: 'spec.replicas', op: 'replace', before: 2, after: 3 }), '~ spec.replicas: 2 → 3');
  assert.equal(formatChange({ path: 'metadata.labels.tier', op: 'add', after: 'front' }), '+ metadata.labels.tier: "front"');
  assert.equal(formatChange({ path: 'spec.args', op: 'remove', before: ['x'] }), '- spec.args: ["x"]');
  assert.deepEqual(
    formatPlacement({ agents: [{ agent: 'a', keep: 1, deploy: 2, stop: [{ instance: 'web-1', reason: 'Replaced' }] }, { agent: 'b', keep: 0, deploy: 0, stop: [{ instance: 'web-2', reason: 'ScaledDown' }] }], pending: [{ replicas: 1, reason: 'no agents have joined' }] }),
    ['agent a: deploy 2, keep 1, stop web-1 (replaced)', 'agent b: stop web-2 (scaled down)', 'pending 1 replica: no agents have joined'],
  );
});

test('rollout: changed fields per generation and the generation undo goes back to', () => {
  assert.equal(changedFields(undefined, { replicas: 1 }), '(first)');
  assert.equal(changedFields({ replicas: 1, env: [] }, { replicas: 2, env: [{ name: 'A', value: 'b' }] }), 'env, replicas');
  assert.equal(changedFields({ replicas: 1 }, { replicas: 1 }), '(no change)');
  const history = [1, 2, 3].map((generation) => ({ generation, revision: generation * 10, spec: { replicas: generation }, createdAt: '2026-01-01T00:00:00Z' }));
  assert.equal(undoTarget(history, 3, undefined).generation, 2);
  assert.equal(undoTarget(history, 3, 1).generation, 1);
  assert.throws(() => undoTarget(history, 3, 7), /generation 7 is not in the history \(kept: 1, 2, 3\)/);
  assert.throws(() => undoTarget(history.slice(0, 1), 1, undefined), /no earlier generation/);
});

test('tables: padded columns, three spaces apart, nothing trailing', () => {
  assert.equal(formatTable(['NAME', 'READY'], [['web', '1/1'], ['a-longer-name', '0/2']]), 'NAME            READY\nweb             1/1\na-longer-name   0/2');
});

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

test('every command and option has help text; the client commands show examples', () => {
  const program = buildProgram();
  const commands = allCommands(program);
  const names = program.commands.map((c) => c.name());
  for (const expected of ['up', 'server', 'agent', 'login', 'logout', 'whoami', 'config', 'apply', 'diff', 'get', 'describe', 'delete', 'rollout', 'scale', 'gitops']) assert.ok(names.includes(expected), `lattice ${expected}`);
  for (const command of commands) {
    const path = commandPath(command);
    assert.ok(command.description().length > 10, `${path} has a description`);
    for (const option of command.options) assert.ok(option.description.length > 5, `${path} ${option.flags} is described`);
    for (const argument of command.registeredArguments) assert.ok(argument.description.length > 3, `${path} <${argument.name()}> is described`);
  }
  for (const name of ['apply', 'diff', 'get', 'describe', 'delete', 'gitops', 'login', 'scale']) {
    const command = program.commands.find((c) => c.name() === name)!;
    let help = '';
    command.configureOutput({ writeOut: (text) => (help += text) });
    command.outputHelp();
    assert.match(help, /\nExamples:\n {2}lattice /, `lattice ${name} --help shows examples`);
  }
});

function commandPath(command: Command): string {
  const parts: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) parts.unshift(c.name());
  return parts.join(' ');
}
