import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { Logger } from '@imaging-facade/service-kit';

export interface KafkaSettings {
  clientId: string;
  brokers: string[];
}

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
