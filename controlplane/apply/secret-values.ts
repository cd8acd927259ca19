// Secret values the server owns: `spec.generate` keys get a random value once, when they first
// appear, and keep it on every later apply or PUT (the manifest never holds them). A value sent
// back as the redaction placeholder (a GET without showSecrets, edited and PUT) keeps the live
// value instead of becoming "<redacted>".
import { randomInt } from 'node:crypto';
import { ownValue } from '../../schemas/own-value.ts';
import type { SecretSpec, ServedSecretSpec } from '../../schemas/types.gen.ts';
import type { StoredObject } from '../../store/types.ts';
import { REDACTED } from '../access.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Letters and digits (safe in URLs, shells and connection strings), uniformly from a CSPRNG. */
export function generateSecretValue(length: number): string {
  let value = '';
  for (let i = 0; i < length; i++) value += ALPHABET[randomInt(ALPHABET.length)];
  return value;
}

/**
 * desired (validated: its defaults are filled in) with its data completed: generated keys from live (or, when new, from the manifest's
 * data or freshly generated), placeholders replaced by live values. Other kinds pass unchanged.
 */
export function withSecretValues(desired: StoredObject, live: StoredObject | undefined, generate: (length: number) => string = generateSecretValue): StoredObject {
  if (desired.kind !== 'Secret') return desired;
  const spec = (desired.spec ?? {}) as ServedSecretSpec;
  const liveData = (live?.spec as SecretSpec | undefined)?.data;
  // A Map, not an object: a key such as "constructor" or "__proto__" stays an ordinary key.
  const data = new Map(Object.entries(spec.data ?? {}));
  for (const [key, value] of data) {
    const kept = value === REDACTED ? ownValue(liveData, key) : undefined;
    if (kept !== undefined) data.set(key, kept);
  }
  for (const [key, options] of Object.entries(spec.generate ?? {})) {
    const given = data.get(key);
    data.set(key, ownValue(liveData, key) ?? (given !== REDACTED ? given : undefined) ?? generate(options.length));
  }
  if (data.size === 0 && spec.data === undefined) return desired;
  return { ...desired, spec: { ...spec, data: Object.fromEntries(data) } };
}
