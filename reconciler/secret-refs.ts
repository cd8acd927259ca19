// Workloads and the Secrets their env refers to: changing a referenced Secret rolls the workload,
// because its version is part of the template hash (see template-hash.ts). The version is the
// Secret's uid and generation — never anything derived from its values.
import type { Secret, WorkloadSpec } from '../schemas/types.gen.ts';

/** Names of the Secrets spec.env refers to, each once, sorted. */
export function referencedSecrets(spec: WorkloadSpec): string[] {
  const names = new Set<string>();
  for (const variable of spec.env ?? []) if (variable.valueFrom) names.add(variable.valueFrom.secretKeyRef.name);
  return [...names].sort();
}

/** What of a Secret rolls the workloads that use it: recreated (uid) or changed (generation). */
export function secretVersion(secret: Pick<Secret, 'metadata'> | undefined): string {
  return secret ? `${secret.metadata.uid}:${secret.metadata.generation}` : 'absent';
}

/** The `extra` of templateHash for a spec: one entry per referenced Secret. */
export function secretVersions(spec: WorkloadSpec, lookup: (name: string) => Pick<Secret, 'metadata'> | undefined): Record<string, string> {
  return Object.fromEntries(referencedSecrets(spec).map((name) => [`secret/${name}`, secretVersion(lookup(name))]));
}
