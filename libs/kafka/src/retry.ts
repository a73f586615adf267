import { retry } from '@imaging-facade/service-kit';

/**
 * Starts something that reads a topic, again while Kafka answers with a retriable error: a topic just
 * created may not have its partition leaders known to every broker yet (NOT_LEADER_FOR_PARTITION).
 * Anything else, or the last attempt's failure, is thrown.
 */
export function startWhileRetriable(
  start: () => Promise<void>,
  logger: { warn: (details: object, message: string) => void },
  attempts = 10,
): Promise<void> {
  return retry(start, {
    isRetryable: (error) => (error as { retriable?: unknown }).retriable === true,
    initialMs: 250,
    maxMs: 5000,
    attempts,
    onRetry: ({ attempt, delayMs, error }) =>
      logger.warn({ attempt, delayMs, reason: (error as Error).message }, 'not started yet (Kafka is still electing partition leaders), will retry'),
  });
}
