// Records that come from JSON or YAML (secret data, env, labels) are looked up by their own keys
// only: "constructor" or "toString" is an ordinary key, never a property of Object.prototype.
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
