// `npm run bench -- [suite...]`: runs the named suites (all when none) and prints tables.
import { apiBench } from './api.bench.ts';
import { convergeBench } from './converge.bench.ts';
import { replicasBench } from './replicas.bench.ts';
import { slowClientsBench } from './slow-clients.bench.ts';
import { storeBench } from './store.bench.ts';
import { upBench } from './up.bench.ts';

const suites: Record<string, () => Promise<void>> = { store: storeBench, api: apiBench, converge: convergeBench, up: upBench, 'slow-clients': slowClientsBench, replicas: replicasBench };

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = requested.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
for (const name of requested.length > 0 ? requested : Object.keys(suites)) await suites[name]!();
