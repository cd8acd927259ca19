// The production build of the control plane and CLI: one ESM bundle under dist/, run by plain
// Node. Running from TypeScript through tsx costs a loader thread and in-memory sources (about
// 55 MB of RSS and a slower start); tests and development still run the sources directly.
import { statSync, readdirSync, writeFileSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const DIST = join(root, 'dist');
const STAMP = join(DIST, 'stamp.json');
const SOURCES = ['agent', 'cli', 'client', 'controlplane', 'reconciler', 'schemas', 'store', 'ui/build.ts'];

function newestSource(dir = root, top = true) {
  let newest = statSync(join(root, 'package.json')).mtimeMs;
  for (const name of top ? SOURCES : readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) newest = Math.max(newest, newestSource(path, false));
    else if (name.endsWith('.ts') || name.endsWith('.js') || name.endsWith('.json')) newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** The bundle exists and no source changed since it was made. */
export function bundleIsFresh() {
  const stamp = statSync(STAMP, { throwIfNoEntry: false });
  return stamp !== undefined && stamp.mtimeMs >= newestSource();
}

/** Builds dist/ (into a temporary folder first, so a concurrent reader never sees half of it). */
export async function buildBundle() {
  const { build } = await import('esbuild');
  const out = `${DIST}.tmp-${process.pid}`;
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: { lattice: join(root, 'cli/main.ts'), app: join(root, 'controlplane/app.ts'), 'heap-tuning': join(root, 'controlplane/heap-tuning.ts') },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The dependencies go in too: resolving and compiling a few thousand files under
    // node_modules was half of `lattice up`'s start (imports 460-550 ms against 190-250 ms
    // bundled, `npm run bench -- up`). Left out: native addons, and what is imported only on
    // demand (PostgreSQL, Docker, GitOps' watcher, the UI build) with native optional parts.
    external: ['better-sqlite3', 'bcrypt', '@ngrok/ngrok', 'pg', 'dockerode', 'chokidar', 'vite', 'esbuild', 'tsx'],
    // Bundled CommonJS requires node's builtins (and optional addons such as ws's bufferutil)
    // at run time. __dirname stays undefined: only pino's transports read it, and the logger
    // writes to stdout without one.
    banner: { js: "import { createRequire as latticeCreateRequire } from 'node:module'; const require = latticeCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    // Stack traces need the mappings, not the sources: the maps are a fifth of the size and
    // Node reads them at every start (bin/lattice.js enables source maps).
    sourcesContent: false,
    logLevel: 'warning',
  });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'stamp.json'), `${JSON.stringify({ builtAt: new Date().toISOString() })}\n`);
  rmSync(DIST, { recursive: true, force: true });
  renameSync(out, DIST);
}

// `node bin/bundle.js [--if-stale]`
if (process.argv[1] === fileURLToPath(import.meta.url) && !(process.argv.includes('--if-stale') && bundleIsFresh())) await buildBundle();
