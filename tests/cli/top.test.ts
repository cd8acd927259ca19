// lattice top's tables from the stats the API returns: per instance, summed per workload, per agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Agent, Workload, WorkloadStats } from '../../schemas/types.gen.ts';
import { topTable, type WorkloadUsage } from '../../cli/output/top.ts';

const workload = (name: string) => ({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name, namespace: 'alice' }, spec: { image: 'x' } }) as Workload;
const agent = (name: string, capacity?: { cpu: string; memory: string }) => ({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name }, spec: {}, ...(capacity ? { status: { capacity } } : {}) }) as Agent;
const measured = (instance: string, agentName: string, cpuCores: number, memoryBytes: number) => ({ instance, agent: agentName, cpuCores, memoryBytes });

const USAGE: WorkloadUsage[] = [
  { workload: workload('web'), stats: { items: [measured('web-b', 'a1', 0.25, 64 * 1024 ** 2), measured('web-a', 'a2', 1.5, 32 * 1024 ** 2)] } },
  { workload: workload('db'), stats: { items: [measured('db-a', 'a1', 0.004, 300 * 1024 ** 2), { instance: 'db-b', agent: 'a3', error: 'agent a3 is not connected' }] as WorkloadStats['items'] } },
  { workload: workload('idle'), stats: { items: [] } },
];

test('top instances: one row each, sorted, CPU in cores or millicores, an unmeasured one says why', () => {
  const { header, rows } = topTable('instances', USAGE);
  assert.deepEqual(header, ['NAME', 'WORKLOAD', 'AGENT', 'CPU', 'MEMORY']);
  assert.deepEqual(rows, [
    ['db-a', 'db', 'a1', '4m', '300Mi'],
    ['db-b', 'db', 'a3', '<unknown>', '<unknown: agent a3 is not connected>'],
    ['web-a', 'web', 'a2', '1500m', '32Mi'],
    ['web-b', 'web', 'a1', '250m', '64Mi'],
  ]);
});

test('top workloads: sums of what was measured, and how many of the instances that is', () => {
  const { rows } = topTable('workloads', USAGE);
  assert.deepEqual(rows, [
    ['db', '1/2', '4m', '300Mi'],
    ['idle', '0', '0', '0Mi'],
    ['web', '2', '1750m', '96Mi'],
  ]);
});

test('top agents: your instances on each agent (every agent listed), with its capacity', () => {
  const { header, rows } = topTable('agents', USAGE, [agent('a1', { cpu: '4', memory: '8Gi' }), agent('a2'), agent('a4', { cpu: '2', memory: '4Gi' })]);
  assert.deepEqual(header, ['NAME', 'YOUR INSTANCES', 'CPU', 'MEMORY', 'CAPACITY']);
  assert.deepEqual(rows, [
    ['a1', '2', '254m', '364Mi', '4 cpu, 8Gi'],
    ['a2', '1', '1500m', '32Mi', '<unknown>'],
    ['a3', '0/1', '0', '0Mi', '<unknown>'],
    ['a4', '0', '0', '0Mi', '2 cpu, 4Gi'],
  ]);
});
