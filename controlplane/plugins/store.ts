import fp from 'fastify-plugin';
import { openStore } from '../../store/open-store.ts';
import type { ObjectStore } from '../../store/types.ts';

/** Opens the store named by config.db (or uses one handed in) and closes it with the server. */
export const storePlugin = fp<{ store?: ObjectStore }>(async (app, { store }) => {
  const opened = store ?? (await openStore(app.config.db, { sqliteSynchronous: app.config.sqliteSynchronous, now: app.now }));
  app.decorate('store', opened);
  if (!store) app.addHook('onClose', () => opened.close());
}, { name: 'lattice-store' });
