import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { studyCompletedV1Schema } from '@imaging-facade/events';
import { startValidatedConsumer, type EventPublisher } from '@imaging-facade/kafka';
import type { Logger } from '@imaging-facade/service-kit';
import { rowsOfSnapshot, type SnapshotRowsOptions } from './snapshot-rows';
import type { StudyIndexDb } from './study-index-db';

export interface IndexConsumerOptions extends SnapshotRowsOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  publisher: EventPublisher;
  db: StudyIndexDb;
  logger: Logger;
  metrics: Registry;
  /** The viewer's link to a study, when the viewer is served. */
  viewerLink?: (studyInstanceUid: string) => string;
}

/**
 * Keeps the index in step with the study topic: each snapshot replaces its study's rows (idempotent,
 * so at-least-once delivery and replays are harmless). Invalid events go to the dead-letter topic.
 * An instance whose file is gone or cannot be read (rowsOfSnapshot says which) is left out, said and
 * recorded (the node cannot serve it; a gauge counts those left out now); when the storage itself fails, the snapshot is retried with backoff.
 */
export async function startIndexConsumer(options: IndexConsumerOptions): Promise<{ stop: () => Promise<void> }> {
  const indexed = new Counter({ name: 'dicomweb_indexed_studies_total', help: 'Study snapshots written to the DICOMweb index', registers: [options.metrics] });
  const { db } = options;
  // Read from the index at each scrape: what the node cannot serve now, which falls back to 0 once
  // the study is sent again or the file mended and the index rebuilt (a replay counts nothing twice).
  new Gauge({
    name: 'dicomweb_instances_left_out',
    help: 'Instances of indexed snapshots the DICOMweb index leaves out now, by reason: their file missing or unreadable',
    labelNames: ['reason'] as const,
    registers: [options.metrics],
    collect() {
      for (const [reason, count] of Object.entries(db.leftOutCounts())) this.set({ reason }, count);
    },
  });
  return startValidatedConsumer(options.kafka, {
    groupId: options.groupId,
    topic: options.topic,
    deadLetterTopic: options.deadLetterTopic,
    schema: studyCompletedV1Schema,
    publisher: options.publisher,
    logger: options.logger,
    metrics: options.metrics,
    isRetryable: (error) => typeof (error as NodeJS.ErrnoException).code === 'string',
    handle: async (event, context) => {
      if (event.data.series.length === 0) {
        // Every instance of the study rejected at the source (IHE IOCM): no longer served.
        options.db.removeStudy(event.data.studyInstanceUid);
        context.logger.info({ studyInstanceUid: event.data.studyInstanceUid, rejected: event.data.rejected?.length }, 'study removed from the index: every instance rejected');
        return;
      }
      const rows = await rowsOfSnapshot(event.data, options);
      if (rows.missing.length > 0) {
        context.logger.warn({ studyInstanceUid: event.data.studyInstanceUid, missing: rows.missing }, 'instances of the study are not in the storage directory: left out of the index');
      }
      if (rows.unreadable.length > 0) {
        // The reasons are the reader's or the system's (an element cut off, EACCES): never a value.
        context.logger.error({ studyInstanceUid: event.data.studyInstanceUid, unreadable: rows.unreadable }, 'files of the study cannot be read: left out of the index until it is rebuilt or the study sent again');
      }
      if (!rows.series.some((row) => row.listed !== 0)) {
        // Nothing of it can be served (every file left out): not listed as an empty study.
        options.db.removeStudy(event.data.studyInstanceUid, rows.leftOut);
        return;
      }
      options.db.replaceStudy(rows);
      indexed.inc();
      // UIDs only: the link a user opens to see the study (the viewer asks them to sign in).
      context.logger.info({ studyInstanceUid: event.data.studyInstanceUid, instances: rows.instances.length, viewer: options.viewerLink?.(event.data.studyInstanceUid) }, 'study indexed');
    },
  });
}
