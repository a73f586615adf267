/** A dependency the service cannot work without, probed by `/readyz`. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  probe: () => Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (check) => {
      try {
        await withTimeout(check.probe(), timeoutMs, check.name);
        return [check.name, { ok: true }] as const;
      } catch (error) {
        return [check.name, { ok: false, error: errorMessage(error) }] as const;
      }
    }),
  );
  return {
    ready: results.every(([, result]) => result.ok),
    checks: Object.fromEntries(results),
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Something that reads a topic (or another source) into memory before it can answer. */
export interface CatchingUp {
  isReady(): boolean;
  /** Set while it does not follow its source (it stopped, and is being started again). */
  readonly error?: Error | undefined;
}

/** Ready once every reader has read its source to the end, as it was at start; a failed reader says why. */
export function caughtUp(name: string, readers: readonly CatchingUp[], what: string): ReadinessCheck {
  return {
    name,
    probe: async () => {
      const failure = readers.find((reader) => reader.error !== undefined)?.error;
      if (failure) throw failure;
      if (!readers.every((reader) => reader.isReady())) throw new Error(`still reading ${what}`);
    },
  };
}
