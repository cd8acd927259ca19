// Where the web UI's sources and build live. The UI's build script writes there and the control
// plane serves from there; it sits on the ground floor so the control plane need not import the
// build script (and Vite with it) to learn a path.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This module runs from schemas/ (the sources) or from dist/ (the bundle): both are siblings of ui/.
export const UI_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'ui');
export const UI_DIST = join(UI_ROOT, 'dist');
