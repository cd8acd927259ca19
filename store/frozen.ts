// Objects a write produced are handed to its caller and to every watcher (the reconciler's caches,
// watch sessions) as they are, not as copies parsed back from the log, so no holder may change
// one. Like React's elements, they are frozen where that is checked (the tests set
// LATTICE_FREEZE_OBJECTS=1, and a change throws there) and not in production: V8 gives every
// frozen object built by spreading a hidden class of its own, which the caches pay for in heap
// (README, "Why the code is as it is").
const FREEZE = process.env.LATTICE_FREEZE_OBJECTS === '1';

/** The object as the store hands it out: frozen in tests (see above). */
export function frozenInTests<T>(value: T): T {
  return FREEZE ? deepFreeze(value) : value;
}

function deepFreeze<T>(value: T): T {
  // A frozen subtree (shared from an earlier object) is not walked again.
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}
