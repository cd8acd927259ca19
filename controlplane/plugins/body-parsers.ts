// The bodies the API reads: JSON (parsed strictly, duplicate keys refused) and YAML (kept as
// text for the apply parser), both checked for valid UTF-8 first.
import fp from 'fastify-plugin';
import { decodeUtf8, parseJsonBody, YamlBody } from '../apply/parse-manifests.ts';

export const bodyParsersPlugin = fp(
  async (app) => {
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, new YamlBody(decodeUtf8(body as Buffer)));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  },
  { name: 'lattice-body-parsers' },
);
