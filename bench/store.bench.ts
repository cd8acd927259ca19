// Store throughput and watch latency on SQLite and PostgreSQL (DESIGN.md §9).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../store/open-store.ts';
import type { ObjectStore, StoredObject } from '../store/types.ts';
import { postgresUnavailableReason, startPostgres } from '../tests/support/postgres.ts';
import { fmt, percentile, printTable } from './report.ts';

const SINGLE_WRITES = 2000;
const BATCHES = 10;
const BATCH_SIZE = 1000;
const WATCHERS = 100;
const WATCHED_WRITES = 500;

// About the size of a small Workload manifest (~250 bytes of spec).
function benchWorkload(name: string): StoredObject {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name, namespace: 'bench', labels: { app: name.slice(0, 20), tier: 'web' } },
    spec: {
      image: 'nginx:1.27',
      replicas: 2,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'http', expose: 'host' }],
      resources: { cpu: '250m', memory: '128Mi' },
      env: [{ name: 'MODE', value: 'production' }],
      restartPolicy: 'Always',
    },
  };
}

async function singleWrites(store: ObjectStore, concurrency: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < SINGLE_WRITES) await store.create(benchWorkload(`single-${concurrency}-${next++}`));
    }),
  );
  return SINGLE_WRITES / ((performance.now() - start) / 1000);
}

async function batchedWrites(store: ObjectStore): Promise<number> {
  const start = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    await store.transact(async (tx) => {
      for (let i = 0; i < BATCH_SIZE; i++) await tx.create(benchWorkload(`batch-${b}-${i}`));
    });
  }
  return (BATCHES * BATCH_SIZE) / ((performance.now() - start) / 1000);
}

let watchRuns = 0;

/** Milliseconds from issuing a write to each watcher receiving it. */
async function watchLatency(writer: ObjectStore, watchSide: ObjectStore): Promise<number[]> {
  const run = ++watchRuns;
  const from = await writer.currentRevision();
  const issuedAt = new Map<string, number>();
  const latencies: number[] = [];
  const watches = Array.from({ length: WATCHERS }, () => watchSide.watch({ fromRevision: from, kind: 'Workload', namespace: 'bench', bookmarkIntervalMs: 60_000 }));
  const consumers = watches.map(async (watch) => {
    let seen = 0;
    for await (const event of watch) {
      if (event.type === 'BOOKMARK') continue;
      latencies.push(performance.now() - issuedAt.get(event.object.metadata.name)!);
      if (++seen === WATCHED_WRITES) break;
    }
  });
  const allConsumed = Promise.all(consumers);
  allConsumed.catch(() => watches.forEach((w) => w.close()));
  for (let i = 0; i < WATCHED_WRITES; i++) {
    const name = `watched-${run}-${i}`;
    issuedAt.set(name, performance.now());
    await writer.create(benchWorkload(name));
    // A steady stream of writes, not a burst: latency, not queueing, is what is measured.
    await new Promise((r) => setTimeout(r, 2));
  }
  await allConsumed;
  return latencies.sort((a, b) => a - b);
}

interface BackendFigures {
  name: string;
  single: number;
  single8: number;
  batched: number;
  watch: number[];
  watchAcross?: number[];
}

async function measure(name: string, url: string, secondUrl?: string): Promise<BackendFigures> {
  const store = await openStore(url);
  try {
    const figures: BackendFigures = {
      name,
      single: await singleWrites(store, 1),
      single8: await singleWrites(store, 8),
      batched: await batchedWrites(store),
      watch: await watchLatency(store, store),
    };
    if (secondUrl) {
      const replica = await openStore(secondUrl);
      try {
        figures.watchAcross = await watchLatency(store, replica);
      } finally {
        await replica.close();
      }
    }
    return figures;
  } finally {
    await store.close();
  }
}

export async function storeBench(): Promise<void> {
  const results: BackendFigures[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lattice-bench-'));
  try {
    results.push(await measure('sqlite (synchronous=FULL)', `sqlite:${join(dir, 'bench.db')}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const skip = postgresUnavailableReason();
  if (skip) console.log(`# PostgreSQL skipped: ${skip}`);
  else {
    const pg = await startPostgres();
    try {
      const url = await pg.createDatabase();
      results.push(await measure('postgres (fsync=off)', url, url));
    } finally {
      await pg.stop();
    }
  }
  printTable(
    `store: ${SINGLE_WRITES} single writes, ${BATCHES}x${BATCH_SIZE} batched, ${WATCHERS} watchers x ${WATCHED_WRITES} writes`,
    ['backend', 'single writes/s', '8 writers writes/s', 'batched writes/s', 'watch p50 ms', 'watch p99 ms', 'replica watch p50 ms', 'replica watch p99 ms'],
    results.map((r) => [
      r.name,
      fmt.rate(r.single),
      fmt.rate(r.single8),
      fmt.rate(r.batched),
      fmt.ms(percentile(r.watch, 50)),
      fmt.ms(percentile(r.watch, 99)),
      r.watchAcross ? fmt.ms(percentile(r.watchAcross, 50)) : '-',
      r.watchAcross ? fmt.ms(percentile(r.watchAcross, 99)) : '-',
    ]),
  );
  console.log('targets (DESIGN.md §9): batched >= 10,000 objects/s; watch delivery p99 <= 50 ms; across PostgreSQL replicas <= 100 ms');
}
