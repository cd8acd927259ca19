// How the UI writes times and quantities: ages like kubectl's, CPU and memory in Kubernetes
// notation. Pure, so they are tested under node.

/** "45s", "5m", "3h", "2d" since iso; "—" when unknown. */
export function age(iso: string | undefined, nowMs: number): string {
  const then = iso ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(then)) return '—';
  const seconds = Math.max(0, Math.floor((nowMs - then) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

// The schema's CpuQuantity and MemoryQuantity forms (schemas/common.schema.json).
const CPU = /^(?:(\d+)m|(\d+(?:\.\d{1,3})?))$/;
const MEMORY = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEMORY_UNIT: Readonly<Record<string, number>> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** Millicores, or undefined for something that is not a CPU quantity. */
export function milliCpu(quantity: string | undefined): number | undefined {
  const match = quantity === undefined ? null : CPU.exec(quantity);
  if (!match) return undefined;
  return match[1] !== undefined ? Number(match[1]) : Math.round(Number(match[2]) * 1000);
}

/** Bytes, or undefined for something that is not a memory quantity. */
export function memoryBytes(quantity: string | undefined): number | undefined {
  const match = quantity === undefined ? null : MEMORY.exec(quantity);
  return match ? Number(match[1]) * MEMORY_UNIT[match[2] ?? '']! : undefined;
}

/** "250m", "2", "1.5" (cores). */
export function formatCpu(milli: number): string {
  if (milli % 1000 === 0) return String(milli / 1000);
  return milli < 1000 ? `${Math.round(milli)}m` : String(Math.round(milli / 100) / 10);
}

/** Binary units, one decimal at most: "512Mi", "1.5Gi", "900". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10}${unit}`;
  }
  return String(Math.round(bytes));
}

/** Only http(s) endpoints become links: a URL such as javascript:… is shown as text. */
export function safeHref(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
