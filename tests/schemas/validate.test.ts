// validate(): every example manifest passes, defaults are filled without touching the input,
// and every kind of mistake is reported at the exact path with a message a person can act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { formatFieldErrors, validate } from '../../schemas/validate.ts';
import { volumeUnder } from '../../schemas/workload-rules.ts';
import type { FieldError } from '../../schemas/validate.ts';
import type { LatticeObject } from '../../schemas/types.gen.ts';

/** A manifest as a user might write it: deliberately untyped, so rows can break it any way they like. */
type Manifest = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Helpers

function expectValid(input: unknown): LatticeObject {
  const result = validate(input);
  if (!result.ok) assert.fail(`expected a valid manifest, got:\n${formatFieldErrors(result.errors)}`);
  return result.value;
}

function expectInvalid(input: unknown): FieldError[] {
  const result = validate(input);
  if (result.ok) assert.fail(`expected validation errors, got a valid ${JSON.stringify(result.value)}`);
  assert.ok(result.errors.length > 0, 'ok: false must come with at least one error');
  return result.errors;
}

function describeErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `  ${JSON.stringify(e.path)}: ${e.message}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Fixtures: one valid base per kind; every call returns a fresh object.

const WORKING_DIR = /^must be an absolute path starting with '\/', without '\.\.'$/;

function workload(): Manifest {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      image: 'nginx:1.27',
      env: [{ name: 'GREETING', value: 'hello' }],
      ports: [{ name: 'http', containerPort: 8080 }],
    },
  };
}

function instance(): Manifest {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Instance',
    metadata: { name: 'web-0', namespace: 'default' },
    spec: {
      workload: 'web',
      templateHash: 'abc123',
      template: { image: 'nginx:1.27', ports: [{ name: 'http', containerPort: 8080 }] },
    },
  };
}

function agent(): Manifest {
  return { apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'node-1' }, spec: {} };
}

function secret(): Manifest {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Secret',
    metadata: { name: 'db-credentials', namespace: 'default' },
    spec: { data: { username: 'app' }, generate: { password: { length: 24 } } },
  };
}

function event(): Manifest {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Event',
    metadata: { name: 'web-scheduled', namespace: 'default' },
    spec: { involvedObject: { kind: 'Workload', name: 'web' }, reason: 'Scheduled' },
  };
}

const BASES = { workload, instance, agent, secret, event } as const;

for (const [name, base] of Object.entries(BASES)) {
  test(`fixture ${name}() is valid`, () => {
    expectValid(base());
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Every YAML document under examples/ validates.

const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();
}

test('examples/ holds YAML manifests to check', () => {
  const files = exampleFiles();
  assert.ok(files.length >= 4, `expected at least 4 example files, found: ${files.join(', ')}`);
  assert.ok(
    files.some((file) => file.startsWith('gitops/')),
    'the walk must reach examples/gitops/',
  );
});

for (const file of exampleFiles()) {
  const documents = parseAllDocuments(readFileSync(join(EXAMPLES_DIR, file), 'utf8'));
  assert.ok(Array.isArray(documents), `examples/${file} did not parse as a YAML stream`);
  documents.forEach((doc, i) => {
    test(`examples/${file} document ${i + 1} validates`, () => {
      assert.deepEqual(doc.errors.map(String), [], `examples/${file} document ${i + 1} is not well-formed YAML`);
      const manifest: unknown = doc.toJS();
      const result = validate(manifest);
      assert.ok(
        result.ok,
        result.ok ? '' : `examples/${file} document ${i + 1} is invalid:\n${formatFieldErrors(result.errors)}`,
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Defaults are filled into a copy; the input is never touched.

test('a minimal Workload gets its defaults', () => {
  const value = expectValid({
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name: 'web' },
    spec: { image: 'nginx', ports: [{ containerPort: 80 }], healthCheck: { http: { port: 80 } } },
  });
  if (value.kind !== 'Workload') assert.fail(`kind changed to ${value.kind}`);
  const { spec } = value;
  assert.equal(spec.replicas, 1);
  assert.equal(spec.restartPolicy, 'Always');
  assert.equal(spec.ports?.[0]?.protocol, 'tcp');
  assert.equal(spec.ports?.[0]?.expose, 'none');
  assert.equal(spec.healthCheck?.intervalSeconds, 10);
  assert.equal(spec.healthCheck?.failureThreshold, 3);
  assert.equal(spec.healthCheck?.http?.path, '/');
});

test('defaults do not overwrite values that are set, even falsy ones', () => {
  const value = expectValid({
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name: 'batch' },
    spec: {
      command: ['./run.sh'],
      replicas: 0,
      restartPolicy: 'Never',
      ports: [{ containerPort: 9000, protocol: 'http', expose: 'tunnel' }],
      healthCheck: { http: { port: 9000, path: '/healthz' }, intervalSeconds: 30, failureThreshold: 1 },
    },
  });
  if (value.kind !== 'Workload') assert.fail(`kind changed to ${value.kind}`);
  assert.equal(value.spec.replicas, 0);
  assert.equal(value.spec.restartPolicy, 'Never');
  assert.deepEqual(value.spec.ports, [{ containerPort: 9000, protocol: 'http', expose: 'tunnel' }]);
  assert.deepEqual(value.spec.healthCheck, {
    http: { port: 9000, path: '/healthz' },
    intervalSeconds: 30,
    failureThreshold: 1,
  });
});

test('a Secret generate entry gets length 32', () => {
  const value = expectValid({
    apiVersion: 'lattice/v1',
    kind: 'Secret',
    metadata: { name: 'token' },
    spec: { generate: { token: {} } },
  });
  if (value.kind !== 'Secret') assert.fail(`kind changed to ${value.kind}`);
  assert.equal(value.spec.generate?.token?.length, 32);
});

test('validate never mutates its input and returns a separate copy', () => {
  const inputs: Manifest[] = [
    {
      apiVersion: 'lattice/v1',
      kind: 'Workload',
      metadata: { name: 'web' },
      spec: { image: 'nginx', ports: [{ containerPort: 80 }], healthCheck: { http: { port: 80 } } },
    },
    { apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'token' }, spec: { generate: { token: {} } } },
  ];
  for (const input of inputs) {
    const before = structuredClone(input);
    const value = expectValid(input);
    assert.deepEqual(input, before, `validate changed its ${String(input.kind)} input`);
    assert.notEqual(value, input);
    assert.notEqual(value.spec, input.spec);
    assert.notDeepEqual(value, input, 'the returned copy should carry the defaults');
  }
});

test('an invalid input is not mutated either', () => {
  const input = workload();
  input.spec.ports[0].containerPort = 70000;
  delete input.spec.ports[0].name;
  const before = structuredClone(input);
  expectInvalid(input);
  assert.deepEqual(input, before);
});

// ---------------------------------------------------------------------------------------------
// 3. One test per invalid manifest: the error names the exact path and says what to do.

interface InvalidCase {
  name: string;
  base: () => Manifest;
  /** Breaks the fresh base in place; returning a value replaces the whole manifest. */
  mutate: (m: Manifest) => unknown;
  path: string;
  message: RegExp;
}

const DNS_LABEL = /^must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit$/;
const LABEL_KEY = /^key must be an optional DNS subdomain prefix and '\/', then a name of at most 63 letters, digits, '-', '_' and '\.'/;
const LABEL_VALUE = /^label value must be at most 63 characters, empty or starting and ending with a letter or digit/;
const PORT_NUMBER = /^must be an integer from 1 to 65535$/;
const IMAGE_OR_COMMAND = /^must set image \(docker runtime\) or command \(process runtime\)$/;
const ONE_ENV_SOURCE = /^must set exactly one of value or valueFrom$/;
const ONE_PROBE = /^must set exactly one of tcp, http or exec$/;
const SECRET_KEY = /^secret key must be letters, digits, '-', '_' and '\.'$/;

const INVALID: InvalidCase[] = [
  // Envelope
  { name: 'unknown kind', base: workload, mutate: (m) => { m.kind = 'Pod'; }, path: 'kind', message: /^unknown kind "Pod"; expected one of Workload, Instance, Agent, Secret, Event$/ },
  { name: 'wrong apiVersion', base: workload, mutate: (m) => { m.apiVersion = 'apps/v1'; }, path: 'apiVersion', message: /^unknown apiVersion "apps\/v1"; use "lattice\/v1"$/ },
  { name: 'missing apiVersion', base: workload, mutate: (m) => { delete m.apiVersion; }, path: 'apiVersion', message: /^is required; use "lattice\/v1"$/ },
  { name: 'missing kind', base: workload, mutate: (m) => { delete m.kind; }, path: 'kind', message: /^is required; one of Workload, Instance, Agent, Secret, Event$/ },
  { name: 'non-object manifest (a string)', base: workload, mutate: () => 'apiVersion: lattice/v1', path: '', message: /^must be an object with apiVersion, kind, metadata and spec$/ },
  { name: 'non-object manifest (an array)', base: workload, mutate: (m) => [m], path: '', message: /^must be an object with apiVersion, kind, metadata and spec$/ },
  { name: 'unknown top-level field', base: workload, mutate: (m) => { m.specs = {}; }, path: 'specs', message: /^unknown field; known fields: apiVersion, kind, metadata, spec, status$/ },
  { name: 'missing spec', base: workload, mutate: (m) => { delete m.spec; }, path: 'spec', message: /^is required$/ },

  // Metadata
  { name: 'missing metadata', base: workload, mutate: (m) => { delete m.metadata; }, path: 'metadata', message: /^is required$/ },
  { name: 'metadata is not an object', base: workload, mutate: (m) => { m.metadata = 'web'; }, path: 'metadata', message: /^must be an object$/ },
  { name: 'missing metadata.name', base: workload, mutate: (m) => { delete m.metadata.name; }, path: 'metadata.name', message: /^is required$/ },
  { name: 'uppercase name', base: workload, mutate: (m) => { m.metadata.name = 'Web'; }, path: 'metadata.name', message: DNS_LABEL },
  { name: 'name longer than 63 characters', base: workload, mutate: (m) => { m.metadata.name = 'a'.repeat(64); }, path: 'metadata.name', message: DNS_LABEL },
  { name: 'name with an underscore', base: workload, mutate: (m) => { m.metadata.name = 'my_web'; }, path: 'metadata.name', message: DNS_LABEL },
  { name: 'name that is not a string', base: workload, mutate: (m) => { m.metadata.name = 42; }, path: 'metadata.name', message: /^must be a string$/ },
  { name: 'bad namespace', base: workload, mutate: (m) => { m.metadata.namespace = 'Team.A'; }, path: 'metadata.namespace', message: DNS_LABEL },
  { name: 'label key with a space', base: workload, mutate: (m) => { m.metadata.labels = { 'bad key': 'x' }; }, path: 'metadata.labels["bad key"]', message: LABEL_KEY },
  { name: 'label key name part longer than 63', base: workload, mutate: (m) => { m.metadata.labels = { ['k'.repeat(64)]: 'x' }; }, path: `metadata.labels.${'k'.repeat(64)}`, message: LABEL_KEY },
  { name: 'label key with an uppercase prefix', base: workload, mutate: (m) => { m.metadata.labels = { 'Example.com/tier': 'x' }; }, path: 'metadata.labels["Example.com/tier"]', message: LABEL_KEY },
  { name: 'label key with an empty prefix', base: workload, mutate: (m) => { m.metadata.labels = { '/tier': 'x' }; }, path: 'metadata.labels["/tier"]', message: LABEL_KEY },
  { name: 'label value longer than 63', base: workload, mutate: (m) => { m.metadata.labels.app = 'v'.repeat(64); }, path: 'metadata.labels.app', message: LABEL_VALUE },
  { name: "label value starting with '-'", base: workload, mutate: (m) => { m.metadata.labels.app = '-web'; }, path: 'metadata.labels.app', message: LABEL_VALUE },
  { name: 'bad label value under a prefixed key', base: workload, mutate: (m) => { m.metadata.labels = { 'example.com/tier': 'front end' }; }, path: 'metadata.labels["example.com/tier"]', message: LABEL_VALUE },
  { name: 'label value that is not a string', base: workload, mutate: (m) => { m.metadata.labels.replicas = 3; }, path: 'metadata.labels.replicas', message: /^must be a string$/ },
  { name: 'annotation with a bad key', base: workload, mutate: (m) => { m.metadata.annotations = { 'note!': 'x' }; }, path: 'metadata.annotations["note!"]', message: LABEL_KEY },
  { name: 'duplicated finalizers', base: workload, mutate: (m) => { m.metadata.finalizers = ['lattice.dev/cleanup', 'lattice.dev/cleanup']; }, path: 'metadata.finalizers', message: /^must not repeat an item \(items 0 and 1 are equal\)$/ },
  { name: 'unknown metadata field', base: workload, mutate: (m) => { m.metadata.owner = 'alice'; }, path: 'metadata.owner', message: /^unknown field; known fields: name, namespace, labels, annotations, finalizers, / },
  { name: 'non-numeric resourceVersion', base: workload, mutate: (m) => { m.metadata.resourceVersion = 'v42'; }, path: 'metadata.resourceVersion', message: /decimal revision number such as "42"/ },
  { name: 'creationTimestamp that is not RFC 3339', base: workload, mutate: (m) => { m.metadata.creationTimestamp = 'yesterday'; }, path: 'metadata.creationTimestamp', message: /^must be an RFC 3339 date-time/ },

  // Workload spec
  { name: 'unknown spec field (typo)', base: workload, mutate: (m) => { m.spec.replica = 2; }, path: 'spec.replica', message: /^unknown field; known fields: image, command, .*\breplicas\b/ },
  { name: 'neither image nor command', base: workload, mutate: (m) => { delete m.spec.image; }, path: 'spec', message: IMAGE_OR_COMMAND },
  { name: 'image with a space', base: workload, mutate: (m) => { m.spec.image = 'nginx latest'; }, path: 'spec.image', message: /^must be an image reference without spaces, e\.g\. postgres:16$/ },
  { name: 'empty command array', base: workload, mutate: (m) => { delete m.spec.image; m.spec.command = []; }, path: 'spec.command', message: /^must have at least 1 item$/ },
  { name: 'command with a non-string item', base: workload, mutate: (m) => { m.spec.command = ['sleep', 10]; }, path: 'spec.command[1]', message: /^must be a string$/ },
  { name: 'containerPort 0', base: workload, mutate: (m) => { m.spec.ports[0].containerPort = 0; }, path: 'spec.ports[0].containerPort', message: PORT_NUMBER },
  { name: 'containerPort 70000', base: workload, mutate: (m) => { m.spec.ports[0].containerPort = 70000; }, path: 'spec.ports[0].containerPort', message: PORT_NUMBER },
  { name: 'containerPort not an integer', base: workload, mutate: (m) => { m.spec.ports[0].containerPort = 8080.5; }, path: 'spec.ports[0].containerPort', message: PORT_NUMBER },
  { name: 'containerPort as a string', base: workload, mutate: (m) => { m.spec.ports[0].containerPort = '8080'; }, path: 'spec.ports[0].containerPort', message: PORT_NUMBER },
  { name: 'missing containerPort', base: workload, mutate: (m) => { delete m.spec.ports[0].containerPort; }, path: 'spec.ports[0].containerPort', message: /^is required$/ },
  { name: 'uppercase port name', base: workload, mutate: (m) => { m.spec.ports[0].name = 'HTTP'; }, path: 'spec.ports[0].name', message: /^must be a port name: at most 15 lowercase letters/ },
  { name: 'bad protocol', base: workload, mutate: (m) => { m.spec.ports[0].protocol = 'udp'; }, path: 'spec.ports[0].protocol', message: /^must be one of "tcp", "http"$/ },
  { name: 'bad expose', base: workload, mutate: (m) => { m.spec.ports[0].expose = 'public'; }, path: 'spec.ports[0].expose', message: /^must be one of "none", "host", "tunnel"$/ },
  { name: 'negative replicas', base: workload, mutate: (m) => { m.spec.replicas = -1; }, path: 'spec.replicas', message: /^must be an integer from 0 to 1000$/ },
  { name: 'replicas over 1000', base: workload, mutate: (m) => { m.spec.replicas = 1001; }, path: 'spec.replicas', message: /^must be an integer from 0 to 1000$/ },
  { name: 'bad restartPolicy', base: workload, mutate: (m) => { m.spec.restartPolicy = 'always'; }, path: 'spec.restartPolicy', message: /^must be one of "Always", "OnFailure", "Never"$/ },
  { name: 'bad cpu quantity', base: workload, mutate: (m) => { m.spec.resources = { cpu: '1 core' }; }, path: 'spec.resources.cpu', message: /^must be a CPU quantity such as "500m", "1" or "1\.5"$/ },
  { name: 'bad memory quantity', base: workload, mutate: (m) => { m.spec.resources = { memory: '256MB' }; }, path: 'spec.resources.memory', message: /^must be a memory quantity such as "256Mi", "1Gi" or "500M"$/ },
  { name: 'unknown resource', base: workload, mutate: (m) => { m.spec.resources = { gpu: '1' }; }, path: 'spec.resources.gpu', message: /^unknown field; known fields: cpu, memory$/ },
  { name: 'env with both value and valueFrom', base: workload, mutate: (m) => { m.spec.env[0].valueFrom = { secretKeyRef: { name: 'db', key: 'greeting' } }; }, path: 'spec.env[0]', message: ONE_ENV_SOURCE },
  { name: 'env with neither value nor valueFrom', base: workload, mutate: (m) => { delete m.spec.env[0].value; }, path: 'spec.env[0]', message: ONE_ENV_SOURCE },
  { name: 'env name starting with a digit', base: workload, mutate: (m) => { m.spec.env[0].name = '1GREETING'; }, path: 'spec.env[0].name', message: /^must be an environment variable name: letters, digits and '_', not starting with a digit$/ },
  { name: 'duplicate env names', base: workload, mutate: (m) => { m.spec.env.push({ name: 'GREETING', value: 'hi' }); }, path: 'spec.env[1].name', message: /^duplicate environment variable "GREETING"$/ },
  { name: 'secretKeyRef missing key', base: workload, mutate: (m) => { m.spec.env[0] = { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db' } } }; }, path: 'spec.env[0].valueFrom.secretKeyRef.key', message: /^is required$/ },
  { name: 'secretKeyRef with a bad secret name', base: workload, mutate: (m) => { m.spec.env[0] = { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'DB', key: 'password' } } }; }, path: 'spec.env[0].valueFrom.secretKeyRef.name', message: DNS_LABEL },
  { name: 'healthCheck with two probe types', base: workload, mutate: (m) => { m.spec.healthCheck = { tcp: { port: 'http' }, http: { port: 'http' } }; }, path: 'spec.healthCheck', message: ONE_PROBE },
  { name: 'healthCheck with no probe', base: workload, mutate: (m) => { m.spec.healthCheck = { intervalSeconds: 5 }; }, path: 'spec.healthCheck', message: ONE_PROBE },
  { name: 'healthCheck port out of range', base: workload, mutate: (m) => { m.spec.healthCheck = { tcp: { port: 0 } }; }, path: 'spec.healthCheck.tcp.port', message: /^must be a port number from 1 to 65535 or the name of one of spec\.ports$/ },
  { name: 'healthCheck http path not absolute', base: workload, mutate: (m) => { m.spec.healthCheck = { http: { port: 'http', path: 'healthz' } }; }, path: 'spec.healthCheck.http.path', message: /^must be an absolute URL path starting with '\/'$/ },
  { name: 'healthCheck intervalSeconds 0', base: workload, mutate: (m) => { m.spec.healthCheck = { exec: { command: ['true'] }, intervalSeconds: 0 }; }, path: 'spec.healthCheck.intervalSeconds', message: /^must be an integer from 1 to 3600$/ },
  { name: 'healthCheck tcp port naming an undeclared port', base: workload, mutate: (m) => { m.spec.healthCheck = { tcp: { port: 'metrics' } }; }, path: 'spec.healthCheck.tcp.port', message: /^names no port in spec\.ports \(known: http\)$/ },
  { name: 'healthCheck http port naming a port when none are declared', base: workload, mutate: (m) => { delete m.spec.ports; m.spec.healthCheck = { http: { port: 'http' } }; }, path: 'spec.healthCheck.http.port', message: /^names no port in spec\.ports \(known: none\)$/ },
  { name: 'duplicate port names', base: workload, mutate: (m) => { m.spec.ports.push({ name: 'http', containerPort: 8081 }); }, path: 'spec.ports[1].name', message: /^duplicate port name "http"$/ },
  { name: 'duplicate containerPorts', base: workload, mutate: (m) => { m.spec.ports.push({ name: 'alt', containerPort: 8080 }); }, path: 'spec.ports[1].containerPort', message: /^duplicate containerPort 8080$/ },
  { name: 'volume mountPath not absolute', base: workload, mutate: (m) => { m.spec.volumes = [{ name: 'data', mountPath: 'var/data' }]; }, path: 'spec.volumes[0].mountPath', message: /^must be an absolute path starting with '\/'$/ },
  { name: 'duplicate volume names', base: workload, mutate: (m) => { m.spec.volumes = [{ name: 'data', mountPath: '/a' }, { name: 'data', mountPath: '/b' }]; }, path: 'spec.volumes[1].name', message: /^duplicate volume "data"$/ },
  { name: 'volume reclaimPolicy unknown', base: workload, mutate: (m) => { m.spec.volumes = [{ name: 'data', mountPath: '/a', reclaimPolicy: 'Recycle' }]; }, path: 'spec.volumes[0].reclaimPolicy', message: /^must be one of "Retain", "Delete"$/ },
  { name: 'workingDir not absolute', base: workload, mutate: (m) => { m.spec.workingDir = 'app'; }, path: 'spec.workingDir', message: WORKING_DIR },
  { name: 'workingDir climbing out with ..', base: workload, mutate: (m) => { m.spec.workingDir = '/data/../etc'; }, path: 'spec.workingDir', message: WORKING_DIR },
  { name: 'process workingDir outside its volumes', base: workload, mutate: (m) => { delete m.spec.image; m.spec.command = ['./serve']; m.spec.volumes = [{ name: 'data', mountPath: '/data' }]; m.spec.workingDir = '/srv'; }, path: 'spec.workingDir', message: /^a process workload's working directory must be one of its volumes' mountPath or under one \(\/data\): a process cannot choose a path on the agent's machine$/ },
  { name: 'process workingDir without volumes', base: workload, mutate: (m) => { delete m.spec.image; m.spec.command = ['./serve']; m.spec.workingDir = '/data'; }, path: 'spec.workingDir', message: /\(it declares no volumes\)/ },
  { name: 'agentSelector with a bad key', base: workload, mutate: (m) => { m.spec.placement = { agentSelector: { 'disk type': 'ssd' } }; }, path: 'spec.placement.agentSelector["disk type"]', message: LABEL_KEY },
  { name: 'bad status phase', base: workload, mutate: (m) => { m.status = { phase: 'Done' }; }, path: 'status.phase', message: /^must be one of "Pending", "Progressing", "Running", "Degraded", "Failed"$/ },

  // Instance: the Workload rules apply to spec.template
  { name: 'Instance template with neither image nor command', base: instance, mutate: (m) => { delete m.spec.template.image; }, path: 'spec.template', message: IMAGE_OR_COMMAND },
  { name: 'Instance template health port naming an undeclared port', base: instance, mutate: (m) => { m.spec.template.healthCheck = { http: { port: 'admin' } }; }, path: 'spec.template.healthCheck.http.port', message: /^names no port in spec\.template\.ports \(known: http\)$/ },
  { name: 'Instance missing templateHash', base: instance, mutate: (m) => { delete m.spec.templateHash; }, path: 'spec.templateHash', message: /^is required$/ },

  // Agent
  { name: 'Agent with a namespace (cluster-scoped)', base: agent, mutate: (m) => { m.metadata.namespace = 'default'; }, path: 'metadata.namespace', message: /^Agent is cluster-scoped and takes no namespace$/ },
  { name: 'Agent unschedulable not a boolean', base: agent, mutate: (m) => { m.spec.unschedulable = 'yes'; }, path: 'spec.unschedulable', message: /^must be a boolean$/ },

  // Secret
  { name: 'Secret bad data key', base: secret, mutate: (m) => { m.spec.data = { 'db password': 'x' }; }, path: 'spec.data["db password"]', message: SECRET_KEY },
  { name: 'Secret bad generate key', base: secret, mutate: (m) => { m.spec.generate = { 'tls/key': {} }; }, path: 'spec.generate["tls/key"]', message: SECRET_KEY },
  { name: 'Secret generate length 4', base: secret, mutate: (m) => { m.spec.generate.password.length = 4; }, path: 'spec.generate.password.length', message: /^must be an integer from 8 to 4096$/ },
  { name: 'Secret data value not a string', base: secret, mutate: (m) => { m.spec.data.port = 5432; }, path: 'spec.data.port', message: /^must be a string$/ },

  // Event
  { name: 'Event bad reason', base: event, mutate: (m) => { m.spec.reason = 'scheduled'; }, path: 'spec.reason', message: /^reason must be CamelCase, e\.g\. Scheduled$/ },
  { name: 'Event missing involvedObject', base: event, mutate: (m) => { delete m.spec.involvedObject; }, path: 'spec.involvedObject', message: /^is required$/ },
  { name: 'Event bad type', base: event, mutate: (m) => { m.spec.type = 'Error'; }, path: 'spec.type', message: /^must be one of "Normal", "Warning"$/ },
];

test('the invalid-manifest table has at least 30 uniquely named rows', () => {
  assert.ok(INVALID.length >= 30, `only ${INVALID.length} rows`);
  const names = INVALID.map((row) => row.name);
  assert.equal(new Set(names).size, names.length, 'row names must be unique');
});

function build(row: InvalidCase): unknown {
  const manifest = row.base();
  const replacement = row.mutate(manifest);
  return replacement === undefined ? manifest : replacement;
}

for (const row of INVALID) {
  test(`invalid: ${row.name} → ${row.path || '(whole object)'}`, () => {
    const errors = expectInvalid(build(row));
    const match = errors.find((e) => e.path === row.path && row.message.test(e.message));
    assert.ok(
      match,
      `expected an error at ${JSON.stringify(row.path)} matching ${row.message}, got:\n${describeErrors(errors)}`,
    );
  });
}

// A map key made of digits is a key, not an array index.
test('a numeric-looking map key is quoted in the path, not shown as an index', () => {
  const m = workload();
  m.metadata.labels = { '2024': '-x' };
  const errors = expectInvalid(m);
  assert.ok(
    errors.some((e) => e.path === 'metadata.labels["2024"]'),
    `expected path metadata.labels["2024"], got:\n${describeErrors(errors)}`,
  );
});

// ---------------------------------------------------------------------------------------------
// 4. Independent problems are all reported, not just the first.

const MULTI: { name: string; base: () => Manifest; mutate: (m: Manifest) => void; paths: string[] }[] = [
  {
    name: 'bad name, bad protocol and negative replicas',
    base: workload,
    mutate: (m) => {
      m.metadata.name = 'Web';
      m.spec.ports[0].protocol = 'udp';
      m.spec.replicas = -1;
    },
    paths: ['metadata.name', 'spec.ports[0].protocol', 'spec.replicas'],
  },
  {
    name: 'missing image/command, env without a value and an out-of-range health port',
    base: workload,
    mutate: (m) => {
      delete m.spec.image;
      delete m.spec.env[0].value;
      m.spec.healthCheck = { tcp: { port: 0 } };
    },
    paths: ['spec', 'spec.env[0]', 'spec.healthCheck.tcp.port'],
  },
  {
    name: 'bad label key, bad containerPort and an unknown top-level field',
    base: workload,
    mutate: (m) => {
      m.metadata.labels = { 'bad key': 'x' };
      m.spec.ports[0].containerPort = 70000;
      m.extra = true;
    },
    paths: ['metadata.labels["bad key"]', 'spec.ports[0].containerPort', 'extra'],
  },
  {
    name: 'three duplicate-port problems from the cross-field rules',
    base: workload,
    mutate: (m) => {
      m.spec.ports.push({ name: 'http', containerPort: 8081 }, { name: 'alt', containerPort: 8080 });
      m.spec.env.push({ name: 'GREETING', value: 'again' });
    },
    paths: ['spec.ports[1].name', 'spec.ports[2].containerPort', 'spec.env[1].name'],
  },
  {
    name: 'missing apiVersion and missing kind',
    base: workload,
    mutate: (m) => {
      delete m.apiVersion;
      delete m.kind;
    },
    paths: ['apiVersion', 'kind'],
  },
];

for (const row of MULTI) {
  test(`all errors reported: ${row.name}`, () => {
    const m = row.base();
    row.mutate(m);
    const errors = expectInvalid(m);
    const paths = errors.map((e) => e.path);
    assert.ok(errors.length >= row.paths.length, `expected at least ${row.paths.length} errors, got:\n${describeErrors(errors)}`);
    for (const path of row.paths) {
      assert.ok(paths.includes(path), `no error at ${JSON.stringify(path)}; got:\n${describeErrors(errors)}`);
    }
    assert.equal(new Set(paths).size, paths.length, `one message per path expected, got:\n${describeErrors(errors)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// formatFieldErrors

test('formatFieldErrors prints one `path: message` line per error', () => {
  assert.equal(
    formatFieldErrors([
      { path: 'spec.ports[0].containerPort', message: 'must be an integer from 1 to 65535' },
      { path: '', message: 'must be an object with apiVersion, kind, metadata and spec' },
    ]),
    'spec.ports[0].containerPort: must be an integer from 1 to 65535\nmust be an object with apiVersion, kind, metadata and spec',
  );
  assert.equal(formatFieldErrors([]), '');
});

test('formatFieldErrors renders what validate reports', () => {
  const m = workload();
  m.spec.ports[0].containerPort = 70000;
  const text = formatFieldErrors(expectInvalid(m));
  assert.match(text, /^spec\.ports\[0\]\.containerPort: must be an integer from 1 to 65535$/m);
});

test('non-data values are a clear error, not an exception', () => {
  const m = workload() as Manifest & { spec: Record<string, unknown> };
  m.spec.image = (() => 1) as unknown as string;
  const errors = expectInvalid(m);
  assert.equal(errors[0]?.message, 'must be plain JSON data (no functions or other non-data values)');
});

test('agentSelector values follow label value rules; label key prefixes are at most 253 characters', () => {
  const m = workload();
  (m.spec as Record<string, unknown>).placement = { agentSelector: { zone: '-x' } };
  m.metadata.labels = { [`${'a'.repeat(254)}/x`]: 'y' };
  const paths = expectInvalid(m).map((e) => e.path);
  assert.ok(paths.includes('spec.placement.agentSelector.zone'), paths.join(', '));
  assert.ok(paths.includes(`metadata.labels["${'a'.repeat(254)}/x"]`), paths.join(', '));
});

test('a process workload may work in a volume (at its mountPath or below); a container anywhere', () => {
  const process = workload();
  delete process.spec.image;
  process.spec.command = ['./serve'];
  process.spec.volumes = [{ name: 'data', mountPath: '/data', reclaimPolicy: 'Delete' }, { name: 'logs', mountPath: '/data/logs' }];
  for (const workingDir of ['/data', '/data/', '/data/app', '/data/logs/today']) {
    expectValid({ ...process, spec: { ...process.spec, workingDir } });
  }
  assert.deepEqual(volumeUnder(process.spec, '/data/logs/today'), { name: 'logs', rest: 'today' }, 'the deepest mount wins');
  assert.deepEqual(volumeUnder(process.spec, '/data'), { name: 'data', rest: '' });
  assert.equal(volumeUnder(process.spec, '/database'), undefined, 'a sibling path with the same prefix is not under /data');
  const container = workload();
  container.spec.workingDir = '/srv/app';
  expectValid(container);
});
