/** dist/, where the bundle is built. */
export declare const DIST: string;
/** The bundle exists and no source changed since it was made. */
export declare function bundleIsFresh(): boolean;
/** Builds dist/ (atomically: a concurrent reader never sees half of it). */
export declare function buildBundle(): Promise<void>;
