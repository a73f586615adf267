/**
 * The one way this project retries: an operation is tried again while its failure is classified as
 * passing, with capped exponential backoff and jitter, until it succeeds, a number of attempts or a
 * deadline is reached, or the caller aborts. A permanent failure is thrown at once (the caller
 * dead-letters it, answers it, or logs it): retrying cannot fix it.
 */
export interface RetryPolicy {
  /** True for a failure that may pass (a server down, a conflict, a leader election). */
  isRetryable: (error: unknown) => boolean;
  /** First delay; each next one doubles, up to maxMs (with jitter). */
  initialMs: number;
  maxMs: number;
  /** Attempts in all, the first included (default: no limit). */
  attempts?: number;
  /** No attempt starts after this long since the first (default: no deadline). */
  deadlineMs?: number;
  /** Stops waiting and retrying: the last failure is thrown. */
  signal?: AbortSignal;
  /** Told before each wait, e.g. to log or count the retry. */
  onRetry?: (retry: { attempt: number; delayMs: number; error: unknown }) => void | Promise<void>;
}

export async function retry<T>(operation: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const delayMs = backoffDelay(attempt, policy.initialMs, policy.maxMs);
      const outOfAttempts = policy.attempts !== undefined && attempt + 1 >= policy.attempts;
      const outOfTime = policy.deadlineMs !== undefined && Date.now() + delayMs - started > policy.deadlineMs;
      if (!policy.isRetryable(error) || outOfAttempts || outOfTime || policy.signal?.aborted) {
        throw error;
      }
      await policy.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, policy.signal);
      if (policy.signal?.aborted) {
        throw error;
      }
    }
  }
}

/** Exponential backoff with jitter (between half and all of the capped delay). */
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
