// V8 grows its old generation by a factor it picks from GC speed, which for the control plane's
// steady churn of short-lived objects (JSON bodies, change records) meant a heap three times
// its live data. A fixed headroom keeps RSS near the live set, and converges faster too (README,
// "Why the code is as it is").
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

/** For processes that run the control plane (`lattice server`, `lattice up`); process-wide. */
export function tuneHeapForControlPlane(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
