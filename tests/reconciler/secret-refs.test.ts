// Which Secrets a workload uses and their versions in its template hash: changing one rolls it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referencedSecrets, secretVersions } from '../../reconciler/secret-refs.ts';
import { templateHash } from '../../reconciler/template-hash.ts';
import type { WorkloadSpec } from '../../schemas/types.gen.ts';

const spec: WorkloadSpec = {
  image: 'postgres:16',
  env: [
    { name: 'A', value: 'literal' },
    { name: 'USER', valueFrom: { secretKeyRef: { name: 'creds', key: 'username' } } },
    { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
    { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } },
  ],
};
const secret = (uid: string, generation: number) => ({ metadata: { name: 'x', uid, generation } });

test('referenced secrets: each once, sorted; none without valueFrom', () => {
  assert.deepEqual(referencedSecrets(spec), ['api', 'creds']);
  assert.deepEqual(referencedSecrets({ command: ['x'] }), []);
});

const cases: [string, Record<string, ReturnType<typeof secret> | undefined>, boolean][] = [
  ['the same versions', { creds: secret('u1', 1), api: secret('u2', 3) }, false],
  ['a changed secret (generation)', { creds: secret('u1', 2), api: secret('u2', 3) }, true],
  ['a recreated secret (uid)', { creds: secret('u9', 1), api: secret('u2', 3) }, true],
  ['a secret that is gone', { creds: undefined, api: secret('u2', 3) }, true],
];
for (const [name, secrets, rolls] of cases) {
  test(`template hash with ${name}: ${rolls ? 'rolls' : 'does not roll'}`, () => {
    const before = templateHash(spec, secretVersions(spec, (n) => ({ creds: secret('u1', 1), api: secret('u2', 3) })[n]));
    const after = templateHash(spec, secretVersions(spec, (n) => secrets[n]));
    assert.equal(before !== after, rolls);
  });
}

test('a workload without secret references hashes as before', () => {
  const plain: WorkloadSpec = { command: ['x'], replicas: 2 };
  assert.equal(templateHash(plain, secretVersions(plain, () => undefined)), templateHash(plain));
});
