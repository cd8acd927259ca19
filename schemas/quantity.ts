// Resource quantities (Kubernetes notation) in canonical units, millicores and bytes, parsed from
// the forms the schema accepts (common.schema.json's CpuQuantity and MemoryQuantity) and written
// back. Exact, in integers: the reconciler schedules with them, the agent sets limits with them,
// the control plane reads its config with them, the CLI and the UI print them.

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

/** Millicores as Kubernetes prints them: whole cores plain ("2"), otherwise in millicores ("1500m"). */
export function formatCpu(milli: number): string {
  const m = Math.max(0, Math.ceil(milli));
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

const BINARY: readonly [string, number][] = [['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]];
const DECIMAL: readonly [string, number][] = [['T', 1000 ** 4], ['G', 1000 ** 3], ['M', 1000 ** 2], ['k', 1000]];

/**
 * Bytes for messages: exact in the unit that gives the smallest number ("256Mi", "500M", "2T";
 * binary on a tie), else plain below 1Ki ("1023"); any other amount is approximated
 * in the largest binary unit, rounded down to one decimal ("3.5Gi"), so it never overstates.
 */
export function formatMemory(bytes: number): string {
  const b = Math.max(0, Math.floor(bytes));
  if (b === 0) return '0';
  // Of the exact forms, the one with the smallest number ("2T", not "1953125000Ki"); binary on a tie.
  let exact: [number, string] | undefined;
  for (const [unit, size] of [...BINARY, ...DECIMAL]) {
    if (b >= size && b % size === 0 && (exact === undefined || b / size < exact[0])) exact = [b / size, unit];
  }
  return exact ? `${exact[0]}${exact[1]}` : inLargestBinaryUnit(b, Math.floor);
}

/**
 * Bytes to read at a glance (measured usage, chart axes), where an exact form would be long
 * ("46272Ki" for a page-aligned reading): the largest binary unit to the nearest tenth ("45.2Mi").
 */
export function approximateMemory(bytes: number): string {
  return inLargestBinaryUnit(Math.max(0, bytes), Math.round);
}

/**
 * Millicores to read at a glance (measured usage, chart axes, bars): millicores below a core
 * ("250m"), else cores to the nearest tenth ("1.5", where the exact form is "1537m").
 */
export function approximateCpu(milli: number): string {
  const m = Math.max(0, milli);
  if (m % 1000 === 0) return String(m / 1000);
  return m < 1000 ? `${Math.round(m)}m` : String(Math.round(m / 100) / 10);
}

/** "1.5Gi"; plain below 1Ki ("900"). */
function inLargestBinaryUnit(bytes: number, round: (n: number) => number): string {
  const binary = BINARY.find(([, size]) => bytes >= size);
  return binary ? `${round((bytes / binary[1]) * 10) / 10}${binary[0]}` : String(round(bytes));
}
