/** Exponential backoff with full jitter, capped. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Starts something that reads a topic, again while Kafka answers with a retriable error: a topic just
 * created may not have its partition leaders known to every broker yet (NOT_LEADER_FOR_PARTITION).
 * Anything else, or the last attempt's failure, is thrown.
 */
export async function startWhileRetriable(
  start: () => Promise<void>,
  logger: { warn: (details: object, message: string) => void },
  attempts = 10,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      return;
    } catch (error) {
      if (attempt + 1 >= attempts || (error as { retriable?: unknown }).retriable !== true) {
        throw error;
      }
      const delay = backoffDelay(attempt, 250, 5000);
      logger.warn({ attempt, delayMs: delay, reason: (error as Error).message }, 'not started yet (Kafka is still electing partition leaders), will retry');
      await sleep(delay);
    }
  }
}
