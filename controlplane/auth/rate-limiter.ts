// Counts events per key in fixed windows; keeps memory bounded by forgetting expired windows.
export class WindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds to wait before key may try again, or 0 when it is under the limit. */
  retryAfter(key: string): number {
    const window = this.current(key);
    return window && window.count >= this.limit ? window.start + this.windowMs - this.now() : 0;
  }

  record(key: string): void {
    const now = this.now();
    const window = this.current(key);
    if (window) window.count += 1;
    else this.windows.set(key, { start: now, count: 1 });
    if (this.windows.size > 100_000) this.sweep();
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private current(key: string): { start: number; count: number } | undefined {
    const window = this.windows.get(key);
    if (window && window.start + this.windowMs <= this.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.start + this.windowMs <= now) this.windows.delete(key);
  }
}
