import {
  INSTANCE_STORED_V1,
  makeEvent,
  STUDY_COMPLETED_V1,
  topicName,
  type InstanceStoredV1Data,
  type StudyCompletedV1Data,
} from '@imaging-facade/events';
import type { EventPublisher } from '@imaging-facade/kafka';

/** The events this service produces, on their (prefixed) topics, keyed by Study Instance UID. */
export interface IngestEvents {
  /** Instance-stored events of one study, in order, in one request (drained from the outbox). */
  instancesStored(studyUid: string, data: readonly InstanceStoredV1Data[]): Promise<void>;
  /**
   * A whole-study snapshot, in one message. The broker refuses messages over its message.max.bytes
   * (10 MB in our deployment), counted after compression. EventPublisher gzips, and a snapshot is
   * repetitive JSON: a 500-instance CT study measured 237 KB of JSON, 16 KB gzipped (~32 bytes per
   * instance), so the limit is orders of magnitude away even for studies of tens of thousands of
   * instances.
   */
  studyCompleted(data: StudyCompletedV1Data): Promise<void>;
}

export const EVENT_SOURCE = 'urn:imaging-facade:dicom-ingest';

export function kafkaIngestEvents(publisher: EventPublisher, prefix: string): IngestEvents {
  const instanceTopic = topicName(INSTANCE_STORED_V1.topic, prefix);
  const studyTopic = topicName(STUDY_COMPLETED_V1.topic, prefix);
  return {
    instancesStored: (studyUid, data) =>
      publisher.publishAll(
        instanceTopic,
        studyUid,
        data.map((instance) => makeEvent(INSTANCE_STORED_V1.type, EVENT_SOURCE, instance.sopInstanceUid, instance)),
      ),
    studyCompleted: (data) =>
      publisher.publish(
        studyTopic,
        data.studyInstanceUid,
        makeEvent(STUDY_COMPLETED_V1.type, EVENT_SOURCE, data.studyInstanceUid, data),
      ),
  };
}
