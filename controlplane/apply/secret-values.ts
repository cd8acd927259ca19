// Secret values the server owns: `spec.generate` keys get a random value once, when they first
// appear, and keep it on every later apply or PUT (the manifest never holds them). A value sent
// back as the redaction placeholder (a GET without showSecrets, edited and PUT) keeps the live
// value instead of becoming "<redacted>".
import { randomInt } from 'node:crypto';
import type { SecretSpec } from '../../schemas/types.gen.ts';
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
 * desired with its data completed: generated keys from live (or, when new, from the manifest's
 * data or freshly generated), placeholders replaced by live values. Other kinds pass unchanged.
 */
export function withSecretValues(desired: StoredObject, live: StoredObject | undefined, generate: (length: number) => string = generateSecretValue): StoredObject {
  if (desired.kind !== 'Secret') return desired;
  const spec = (desired.spec ?? {}) as SecretSpec;
  const liveData = ((live?.spec as SecretSpec | undefined)?.data ?? {}) as Record<string, string>;
  const data: Record<string, string> = { ...spec.data };
  for (const [key, value] of Object.entries(data)) {
    if (value === REDACTED && liveData[key] !== undefined) data[key] = liveData[key];
  }
  for (const [key, options] of Object.entries(spec.generate ?? {})) {
    const kept = liveData[key] ?? (data[key] !== REDACTED ? data[key] : undefined);
    data[key] = kept ?? generate(options.length ?? 32);
  }
  if (Object.keys(data).length === 0 && spec.data === undefined) return desired;
  return { ...desired, spec: { ...spec, data } };
}
