import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { STUDY_COMPLETED_V1, studyCompletedV1Schema, type StudyCompletedV1 } from '@imaging-facade/events';
import { startValidatedConsumer, type EventPublisher, type MessageContext, type StalledMessages } from '@imaging-facade/kafka';
import type { Logger } from '@imaging-facade/service-kit';
import { isRetryableGateError, type ConsentGate } from './consent/consent-gate';
import { refusedPatient } from './pipeline';

export interface StudyConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  publisher: EventPublisher;
  /** Where each study is decided (consent) and then published or withheld. */
  gate: Pick<ConsentGate, 'onStudy'>;
  logger: Logger;
  metrics: Registry;
  /** FACADE_PATIENT_ID_SYSTEM: the system of a PatientID without issuer. */
  defaultPatientIdSystem: string;
  /** The messages retried, for `/readyz` (a study retried for minutes holds every partition). */
  stalled?: StalledMessages;
}

/**
 * The Kafka entry point: each `study-completed` event goes through the consent gate and becomes
 * one FHIR transaction, or is withheld. Start it only once the gate's consent view has caught up.
 * Validation, retries (FHIR unreachable, 412, 429, 5xx, the consent view down: isRetryableGateError)
 * and the dead-letter topic are runValidatedConsumer's; `stop` lets the message in flight finish.
 * The topic's partitions are handled at once, each in order: studies that go quiet together (a
 * region's modalities) are written side by side. Safe because the gate decides each patient under
 * a lock, and the index's writes fail on a concurrent writer (409/412, retried) rather than
 * overwrite it.
 */
export async function startStudyConsumer(options: StudyConsumerOptions): Promise<{ stop: () => Promise<void> }> {
  return startValidatedConsumer(options.kafka, {
    groupId: options.groupId,
    topic: options.topic,
    deadLetterTopic: options.deadLetterTopic,
    schema: studyCompletedV1Schema,
    publisher: options.publisher,
    logger: options.logger,
    metrics: options.metrics,
    isRetryable: isRetryableGateError,
    partitionsConcurrently: STUDY_COMPLETED_V1.partitions,
    ...(options.stalled ? { stalled: options.stalled } : {}),
    handle: studyCompletedHandler(options),
  });
}

export function studyCompletedHandler(
  options: Pick<StudyConsumerOptions, 'gate' | 'metrics' | 'defaultPatientIdSystem'>,
): (event: StudyCompletedV1, context: MessageContext) => Promise<void> {
  const studies = new Counter({
    name: 'facade_mapper_studies_total',
    help: 'Study snapshots written to FHIR, by outcome (created, updated, unchanged, removed)',
    labelNames: ['outcome'] as const,
    registers: [options.metrics],
  });
  return async (event, context) => {
    // Keyed by the study only: the event carries patient data, which is never logged.
    const logger = context.logger.child({ studyInstanceUid: event.data.studyInstanceUid });
    // Before consent: a patient the desk cannot record a decision for is never held or indexed (dead-lettered).
    const refused = refusedPatient(event.data, options.defaultPatientIdSystem);
    if (refused) {
      throw refused;
    }
    const decided = await options.gate.onStudy(event.data);
    if (decided.outcome !== 'shared') {
      logger.info(
        { outcome: decided.outcome, deletedStudies: decided.withdrawal.deletedStudies.length },
        'study withheld from the index (consent)',
      );
      return;
    }
    const result = decided.mapping;
    studies.inc({ outcome: result.outcome });
    if (result.skipped.length > 0) {
      logger.warn({ skipped: result.skipped }, 'attributes left out of the FHIR resources');
    }
    if (result.derived.notes.length > 0) {
      // Reasons and UIDs only (pipeline.ts): what of the manifest and the dose could not be mapped.
      logger.warn({ notes: result.derived.notes }, 'parts of the manifest or dose left out');
    }
    logger.info(
      {
        outcome: result.outcome,
        patient: result.patient,
        numberOfSeries: result.numberOfSeries,
        numberOfInstances: result.numberOfInstances,
        documentReference: result.derived.documentReference,
        observations: result.derived.observations,
        ...(result.derived.observationsDeleted ? { observationsDeleted: result.derived.observationsDeleted } : {}),
        ...(result.derived.rejectedStudyRecord ? { rejectedStudyRecord: result.derived.rejectedStudyRecord } : {}),
        ...(result.cumulativeDose ? { cumulativeDose: result.cumulativeDose } : {}),
      },
      'study mapped to FHIR',
    );
  };
}
