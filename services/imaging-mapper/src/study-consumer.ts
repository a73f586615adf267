import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { studyCompletedV1Schema, type StudyCompletedV1 } from '@imaging-facade/events';
import { isRetryableFhirError } from '@imaging-facade/fhir';
import { runValidatedConsumer, type EventPublisher, type MessageContext } from '@imaging-facade/kafka';
import type { Logger } from '@imaging-facade/service-kit';
import type { FhirPort } from './fhir-lookups';
import { mapStudySnapshot, type MapperSettings } from './pipeline';

export interface StudyConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  publisher: EventPublisher;
  fhir: FhirPort;
  settings: MapperSettings;
  logger: Logger;
  metrics: Registry;
}

/**
 * The Kafka entry point: each `study-completed` event becomes one FHIR transaction. Validation,
 * retries (FHIR unreachable, 412, 429, 5xx: isRetryableFhirError) and the dead-letter topic are
 * runValidatedConsumer's; `stop` lets the message in flight finish.
 */
export async function startStudyConsumer(options: StudyConsumerOptions): Promise<{ stop: () => Promise<void> }> {
  const consumer = options.kafka.consumer({ groupId: options.groupId });
  await consumer.connect();
  try {
    return await runValidatedConsumer({
      consumer,
      groupId: options.groupId,
      topic: options.topic,
      deadLetterTopic: options.deadLetterTopic,
      schema: studyCompletedV1Schema,
      publisher: options.publisher,
      logger: options.logger,
      metrics: options.metrics,
      isRetryable: isRetryableFhirError,
      handle: studyCompletedHandler(options),
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
}

export function studyCompletedHandler(
  options: Pick<StudyConsumerOptions, 'fhir' | 'settings' | 'metrics'>,
): (event: StudyCompletedV1, context: MessageContext) => Promise<void> {
  const studies = new Counter({
    name: 'facade_mapper_studies_total',
    help: 'Study snapshots written to FHIR, by outcome (created, updated, unchanged)',
    labelNames: ['outcome'] as const,
    registers: [options.metrics],
  });
  return async (event, context) => {
    // Keyed by the study only: the event carries patient data, which is never logged.
    const logger = context.logger.child({ studyInstanceUid: event.data.studyInstanceUid });
    const result = await mapStudySnapshot(event.data, options.fhir, options.settings);
    studies.inc({ outcome: result.outcome });
    if (result.skipped.length > 0) {
      logger.warn({ skipped: result.skipped }, 'attributes left out of the FHIR resources');
    }
    logger.info(
      {
        outcome: result.outcome,
        patient: result.patient,
        numberOfSeries: result.numberOfSeries,
        numberOfInstances: result.numberOfInstances,
      },
      'study mapped to FHIR',
    );
  };
}
