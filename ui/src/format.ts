// How the UI writes times and reads quantities: ages like kubectl's, CPU and memory requests it
// may not be able to parse. Pure, so they are tested under node.
import { parseCpu, parseMemory } from '../../schemas/quantity.ts';

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

// Quantities are parsed and written by schemas/quantity.ts, exactly; the UI only tolerates what
// it cannot parse (it shows what it can rather than fail a whole view).

/** Millicores, or undefined for something that is not a CPU quantity. */
export function milliCpu(quantity: string | undefined): number | undefined {
  return tolerant(parseCpu, quantity);
}

/** Bytes, or undefined for something that is not a memory quantity. */
export function memoryBytes(quantity: string | undefined): number | undefined {
  return tolerant(parseMemory, quantity);
}

function tolerant(parse: (quantity: string) => number, quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  try {
    return parse(quantity);
  } catch {
    return undefined;
  }
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
