import type { Consumer } from 'kafkajs';
import { errorMessage, retry, type Logger } from '@imaging-facade/service-kit';

export interface RestartOptions {
  /** Subscribes and runs the consumer again (it is connected first); e.g. seeks to where it was. */
  run: () => Promise<void>;
  logger: Logger;
  /** Aborted when the service stops: no restart is attempted any more. */
  signal: AbortSignal;
  /** Told each time the consumer stopped for good, before it is started again. */
  onStopped?: (error: unknown) => void;
  /** Told once it runs again. */
  onRunning?: () => void;
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * kafkajs restarts a consumer after a retriable crash, but leaves it stopped for good after any
 * other one, e.g. KafkaJSGroupCoordinatorNotFound or an error of the group protocol just after a
 * broker restart (tulios/kafkajs#1445). A service would then stay up and silently read nothing.
 * This starts such a consumer again (connect, subscribe, run), with backoff, until it runs or the
 * service stops. What the consumer had not committed is read again: at-least-once still holds.
 */
export function restartAfterFatalCrash(consumer: Consumer, options: RestartOptions): void {
  const backoff = options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
  let restarting = false;
  /** A fatal crash while a restart was under way: start again once it is over. */
  let crashedAgain = false;
  const restart = (groupId: string): void => {
    restarting = true;
    void retry(
      async () => {
        await consumer.disconnect();
        await consumer.connect();
        await options.run();
      },
      {
        ...backoff,
        isRetryable: () => !options.signal.aborted,
        signal: options.signal,
        onRetry: ({ attempt, delayMs, error }) =>
          options.logger.warn({ attempt, delayMs, reason: errorMessage(error) }, 'the Kafka consumer could not be started again, will retry'),
      },
    )
      .then(() => {
        options.logger.info({ groupId }, 'the Kafka consumer runs again');
        options.onRunning?.();
      })
      .catch((error: unknown) => {
        if (!options.signal.aborted) {
          options.logger.error({ reason: errorMessage(error) }, 'the Kafka consumer could not be started again');
        }
      })
      .finally(() => {
        restarting = false;
        if (crashedAgain && !options.signal.aborted) {
          crashedAgain = false;
          restart(groupId);
        }
      });
  };
  consumer.on(consumer.events.CRASH, (event) => {
    if (event.payload.restart || options.signal.aborted) {
      return;
    }
    options.onStopped?.(event.payload.error);
    options.logger.error(
      { groupId: event.payload.groupId, reason: errorMessage(event.payload.error) },
      'the Kafka consumer stopped on an error kafkajs does not restart after; starting it again',
    );
    if (restarting) {
      crashedAgain = true;
      return;
    }
    restart(event.payload.groupId);
  });
}
