// Serves the built web UI (ui/dist) at `/`. A path with a file extension is a file of the
// build (404 when there is none); any other path outside /api is a view of the single-page app
// and gets index.html, so links to /workloads/alice/web can be opened and reloaded. The UI's
// files are public (the page itself signs in); /api keeps its JSON 404 for unknown routes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import { UI_DIST } from '../../schemas/ui-location.ts';
import { ApiError, notFound } from '../errors.ts';

export interface UiStaticOptions {
  /** The built UI; ui/dist by default. */
  root?: string;
}

const NOT_BUILT = 'the web UI is not built (ui/dist is missing): run `npm run build:ui`, or start with `npm start`, which builds it';

export const uiStaticPlugin = fp<UiStaticOptions>(
  async (app, options) => {
    const root = options.root ?? UI_DIST;
    await app.register(fastifyStatic, { root, serve: false, suppressWarning: true });
    app.get('/*', { config: { public: true } }, async (request, reply) => {
      const path = request.url.split('?')[0]!;
      if (path === '/api' || path.startsWith('/api/')) throw notFound(`no route GET ${path}`);
      if (!existsSync(join(root, 'index.html'))) throw new ApiError('ServiceUnavailable', NOT_BUILT);
      const last = path.slice(path.lastIndexOf('/') + 1);
      if (!last.includes('.')) return reply.sendFile('index.html');
      let file: string;
      try {
        file = decodeURIComponent(path.slice(1));
      } catch {
        throw notFound(`no file ${path}`);
      }
      // @fastify/send refuses paths that leave root too; this answers them with a clear 404.
      if (file.split(/[\\/]/).includes('..')) throw notFound(`no file ${path}: paths may not leave the UI's folder`);
      return reply.sendFile(file);
    });
  },
  { name: 'lattice-ui-static', dependencies: ['lattice-error-answers'] },
);
