// Random hex suffixes for generated names (instances, events). Names need uniqueness, not
// secrecy, and there are thousands a second: random bytes are drawn from the system a page at a
// time rather than in a system call per name.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let used = pool.length;

/** `bytes` random bytes as 2 × bytes hex characters. */
export function randomSuffix(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}
