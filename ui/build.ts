// Builds the web UI with Vite into ui/dist, which the control plane serves at `/`.
// `npm run build:ui` always builds; `lattice up` builds only when ui/dist is missing or older
// than its sources. The output is staged in a sibling folder and renamed into place, so a
// server never serves a half-written build.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { UI_DIST, UI_ROOT } from '../schemas/ui-location.ts';

/** What the bundle is made of: the UI itself and the shared code it imports. */
const SOURCES = [join(UI_ROOT, 'index.html'), join(UI_ROOT, 'src'), join(UI_ROOT, 'public'), join(UI_ROOT, 'build.ts'), join(UI_ROOT, '..', 'client'), join(UI_ROOT, '..', 'schemas', 'label-selector.ts'), join(UI_ROOT, '..', 'schemas', 'quantity.ts'), join(UI_ROOT, '..', 'schemas', 'backoff.ts')];

export async function buildUi(outDir = UI_DIST): Promise<void> {
  const { build } = await import('vite');
  const staging = join(dirname(outDir), `.${basename(outDir)}-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    await build({
      root: UI_ROOT,
      configFile: false,
      envDir: false,
      logLevel: 'warn',
      publicDir: join(UI_ROOT, 'public'),
      build: { outDir: staging, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
    });
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** True when outDir holds a build at least as new as every source file. */
export function isUiFresh(outDir = UI_DIST): boolean {
  const index = join(outDir, 'index.html');
  if (!existsSync(index)) return false;
  return statSync(index).mtimeMs >= Math.max(...SOURCES.map(newestMtime));
}

/** Builds unless a fresh build is there; says which it did. */
export async function ensureUiBuilt(outDir = UI_DIST): Promise<'built' | 'fresh'> {
  if (isUiFresh(outDir)) return 'fresh';
  await buildUi(outDir);
  return 'built';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  await buildUi();
  console.log(`built the web UI into ${UI_DIST} in ${Math.round(performance.now() - started)} ms`);
}
