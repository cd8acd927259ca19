// The web UI's location: the same folder whether read from the sources or from the bundle's sibling.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { UI_DIST, UI_ROOT } from '../../schemas/ui-location.ts';

test('UI_ROOT is the repository\'s ui/ (its index.html there) and UI_DIST its dist/', () => {
  assert.equal(UI_ROOT, fileURLToPath(new URL('../../ui', import.meta.url)));
  assert.ok(existsSync(join(UI_ROOT, 'index.html')));
  assert.equal(UI_DIST, join(UI_ROOT, 'dist'));
});
