/** The timer functions the tracker uses, injectable so that tests can drive time themselves. */
export interface Timers {
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (timer: unknown) => void;
}

const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * One timer per key (a study): every `touch` restarts it, and `onQuiet` runs once the key has not
 * been touched for the given delay. After `stop`, nothing fires any more.
 */
export class QuietPeriodTracker {
  private readonly timers = new Map<string, unknown>();
  private stopped = false;

  constructor(
    private readonly onQuiet: (key: string) => void,
    private readonly clock: Timers = systemTimers,
  ) {}

  touch(key: string, delayMs: number): void {
    if (this.stopped) {
      return;
    }
    this.cancel(key);
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.onQuiet(key);
    }, delayMs);
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const timer = this.timers.get(key);
    if (timer !== undefined) {
      this.clock.clearTimeout(timer);
      this.timers.delete(key);
    }
  }

  isWaiting(key: string): boolean {
    return this.timers.has(key);
  }

  get size(): number {
    return this.timers.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) {
      this.clock.clearTimeout(timer);
    }
    this.timers.clear();
  }
}
