// What a replica asks for, in millicores and bytes (the parsing is tested in tests/schemas/quantity.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestOf } from '../../reconciler/quantity.ts';

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

describe('requestOf', () => {
  const cases: [string, Parameters<typeof requestOf>[0], ReturnType<typeof requestOf>][] = [
    ['no resources: best effort', { image: 'nginx' }, { milliCpu: 0, memoryBytes: 0 }],
    ['empty resources', { image: 'nginx', resources: {} }, { milliCpu: 0, memoryBytes: 0 }],
    ['cpu only', { command: ['sleep'], resources: { cpu: '250m' } }, { milliCpu: 250, memoryBytes: 0 }],
    ['memory only', { command: ['sleep'], resources: { memory: '64Mi' } }, { milliCpu: 0, memoryBytes: 64 * Mi }],
    ['both', { image: 'postgres:16', resources: { cpu: '1.5', memory: '1Gi' } }, { milliCpu: 1500, memoryBytes: Gi }],
  ];
  for (const [name, spec, want] of cases) test(name, () => assert.deepEqual(requestOf(spec), want));

  test('an invalid quantity throws', () => assert.throws(() => requestOf({ image: 'x', resources: { cpu: 'lots' } }), /not a CPU quantity/));
});
