import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { Logger } from '@imaging-facade/service-kit';

export interface KafkaSettings {
  clientId: string;
  brokers: string[];
}

/**
 * How long a consumer's fetch may wait at the broker when there is nothing new (`maxWaitTimeInMs`).
 * A stop waits for the fetch under way: with kafkajs's 5 s, each consumer took up to 5 s to stop
 * (the mapper ~10–15 s for its three). A record that arrives ends the wait at once, so this costs
 * no latency, only two empty fetches a second on a quiet topic.
 */
export const FETCH_WAIT_MS = 500;

/** kafkajs with its log lines routed into the service's structured logger. */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: toPino(logger.child({ component: 'kafkajs' })),
    retry: { initialRetryTime: 300, retries: 8 },
  });
}

function toPino(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...fields } = log;
      switch (level) {
        case KafkaLogLevel.ERROR:
        case KafkaLogLevel.NOTHING:
          logger.error(fields, message);
          break;
        case KafkaLogLevel.WARN:
          logger.warn(fields, message);
          break;
        case KafkaLogLevel.INFO:
          logger.info(fields, message);
          break;
        case KafkaLogLevel.DEBUG:
          logger.debug(fields, message);
          break;
      }
    };
}
