// Every process example in examples/ (those without an image: no Docker needed) applied as a user
// would, file by file, on a real agent: each Workload reaches Running with all its replicas, and
// every HTTP endpoint answers. (The Docker examples need an image registry; see docker.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Workload } from '../../schemas/types.gen.ts';
import { e2eTest, getWorkload, listInstances, waitFor } from './support.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function processExamples(): { file: string; text: string; workloads: string[] }[] {
  return readdirSync(EXAMPLES, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(join(EXAMPLES, file), 'utf8');
      const documents = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { image?: string } });
      if (documents.some((d) => d.kind === 'Workload' && d.spec.image)) return undefined;
      return { file, text, workloads: documents.filter((d) => d.kind === 'Workload').map((d) => d.metadata.name) };
    })
    .filter((example) => example !== undefined);
}

e2eTest('every process example reaches Running and its HTTP endpoints answer', { timeout: 120_000 }, async (env) => {
  const { user, namespace: ns } = env;
  await env.startAgent({ name: 'examples-host' });
  const examples = processExamples();
  assert.ok(examples.length >= 3 && examples.some((e) => e.file === 'web.yaml'), `process examples: ${examples.map((e) => e.file).join(', ')}`);
  for (const { file, text, workloads } of examples) {
    const applied = await user.apply(text);
    for (const name of workloads) {
      const running = await waitFor(
        async () => {
          const w = await getWorkload(user, ns, name);
          return w?.status?.phase === 'Running' && w.status.readyReplicas === (w.spec.replicas ?? 1) ? w : undefined;
        },
        30_000,
        `${file}: ${name} Running with every replica`,
      );
      // Instances carry their workload's labels: a selector on them finds them.
      for (const [key, value] of Object.entries(running.metadata.labels ?? {})) {
        const selected = await user.list('instances', { namespace: ns, labelSelector: `${key}=${value}` });
        assert.equal(selected.items.length, running.spec.replicas ?? 1, `${file}: instances with ${key}=${value}`);
      }
      for (const endpoint of (running as Workload).status!.endpoints ?? []) {
        if (!endpoint.url.startsWith('http://')) continue;
        const response = await fetch(endpoint.url, { signal: AbortSignal.timeout(5_000) });
        assert.equal(response.status, 200, `${file}: ${name} answers at ${endpoint.url}`);
        await response.arrayBuffer();
      }
    }
    // Gone again before the next file (two files name a Workload hello); nothing outlives the test.
    for (const result of applied.results) await user.delete(result.kind === 'Workload' ? 'workloads' : 'secrets', ns, result.name);
    await waitFor(async () => (await listInstances(user, ns)).length === 0, 30_000, `${file}: its instances stopped`);
  }
});
