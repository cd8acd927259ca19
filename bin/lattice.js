#!/usr/bin/env node
// The `lattice` command. From the bundle in dist/ (`npm run build`) when it is up to date; from
// the TypeScript sources through tsx otherwise, so a clone works without a build step.
import { bundleIsFresh } from './bundle.js';

if (bundleIsFresh()) {
  process.setSourceMapsEnabled(true);
  await import('../dist/lattice.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
