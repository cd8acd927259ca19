// Quantities: parse Kubernetes notation into millicores and bytes, format them back for messages
// and for reading at a glance.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approximateMemory, formatCpu, formatMemory, parseCpu, parseMemory } from '../../schemas/quantity.ts';

const Ki = 1024;
const Mi = 1024 ** 2;
const Gi = 1024 ** 3;
const Ti = 1024 ** 4;

describe('parseCpu', () => {
  const valid: [string, number][] = [
    ['500m', 500],
    ['1', 1000],
    ['1.5', 1500],
    ['0.25', 250],
    ['0', 0],
    ['0m', 0],
    ['1m', 1],
    ['0.001', 1],
    ['1.1', 1100], // not 1100.0000000000002
    ['2.125', 2125],
    ['1500m', 1500],
    ['64', 64_000],
    ['007', 7000],
  ];
  for (const [input, want] of valid) test(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseCpu(input), want));

  const invalid = ['', 'm', '1.', '.5', '1.2345', '-1', '1.5m', '1 ', ' 1', '1k', '1e3', 'one', '0x10'];
  for (const input of invalid) test(`${JSON.stringify(input)} is rejected`, () => assert.throws(() => parseCpu(input), RangeError));
});

describe('parseMemory', () => {
  const valid: [string, number][] = [
    ['1024', 1024],
    ['0', 0],
    ['1Ki', Ki],
    ['256Mi', 256 * Mi],
    ['1Gi', Gi],
    ['2Ti', 2 * Ti],
    ['1k', 1000],
    ['500M', 500_000_000],
    ['1G', 1e9],
    ['3T', 3e12],
    ['0Mi', 0],
  ];
  for (const [input, want] of valid) test(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseMemory(input), want));

  const invalid = ['', 'Mi', '1.5Gi', '-1', '1K', '1mi', '1m', '1Mib', '1 Mi', '1e9', '1Pi'];
  for (const input of invalid) test(`${JSON.stringify(input)} is rejected`, () => assert.throws(() => parseMemory(input), RangeError));
});

describe('formatCpu', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [500, '500m'],
    [1000, '1'],
    [1500, '1500m'],
    [4000, '4'],
    [1, '1m'],
    [-250, '0'], // overcommitted agents have negative free cpu
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => assert.equal(formatCpu(input), want));
});

describe('formatMemory', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1000, '1k'],
    [1023, '1023'],
    [Ki, '1Ki'],
    [256 * Mi, '256Mi'],
    [1536 * Mi, '1536Mi'],
    [8 * Gi, '8Gi'],
    [2 * Ti, '2Ti'],
    [500_000_000, '500M'],
    [1_024_000, '1000Ki'], // smaller than '1024k'
    [2e12, '2T'], // not '1953125000Ki'
    [Gi - 1, '1023.9Mi'], // approximated, rounded down
    [3.75 * Gi + 1, '3.7Gi'],
    [-5, '0'],
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => assert.equal(formatMemory(input), want));

  test('exact amounts round-trip through parseMemory', () => {
    for (const q of ['1Ki', '256Mi', '1Gi', '500M', '1k', '2T', '1023']) assert.equal(formatMemory(parseMemory(q)), q);
  });
});

describe('approximateMemory', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [900, '900'],
    [2 * Ki, '2Ki'],
    [256 * Mi, '256Mi'],
    [1.5 * Gi, '1.5Gi'],
    [24.7 * Gi, '24.7Gi'], // nearest, where formatMemory rounds down
    [47_382_528, '45.2Mi'], // page-aligned usage: not '46272Ki'
    [-5, '0'],
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => assert.equal(approximateMemory(input), want));
});
