// Objects as YAML or JSON documents, and the List a collection is printed as (kubectl's shape,
// which `lattice apply -f` reads back).
import { stringify } from 'yaml';
import type { LatticeObject } from '../../schemas/types.gen.ts';

export type DocumentFormat = 'yaml' | 'json';

export function asList(items: readonly LatticeObject[]): { apiVersion: string; kind: 'List'; items: readonly LatticeObject[] } {
  return { apiVersion: 'lattice/v1', kind: 'List', items };
}

export function formatDocument(value: unknown, format: DocumentFormat): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}
