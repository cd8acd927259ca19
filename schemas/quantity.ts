// Parsing resource quantities (Kubernetes notation) into canonical units, millicores and bytes:
// the forms the schema accepts (common.schema.json's CpuQuantity and MemoryQuantity). Shared by
// the reconciler (scheduling) and the agent (container limits).

const CPU = /^(?:(\d+)m|(\d+)(?:\.(\d{1,3}))?)$/;
const MEMORY = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

const MEMORY_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n,
  k: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
};

/** "500m" → 500, "1" → 1000, "1.5" → 1500, "0.25" → 250. Throws RangeError on anything else. */
export function parseCpu(q: string): number {
  const match = CPU.exec(q);
  if (!match) throw new RangeError(`${JSON.stringify(q)} is not a CPU quantity such as "500m", "1" or "1.5"`);
  const [, milli, cores, fraction] = match;
  if (milli !== undefined) return Number(milli);
  // Integer arithmetic: "1.1" must be exactly 1100, not 1100.0000000000002.
  return Number(BigInt(cores!) * 1000n + BigInt((fraction ?? '').padEnd(3, '0')));
}

/** "256Mi" → 268435456, "500M" → 500000000, "1024" → 1024. Throws RangeError on anything else. */
export function parseMemory(q: string): number {
  const match = MEMORY.exec(q);
  if (!match) throw new RangeError(`${JSON.stringify(q)} is not a memory quantity such as "256Mi", "1Gi" or "500M"`);
  return Number(BigInt(match[1]!) * MEMORY_UNITS[match[2] ?? '']!);
}
