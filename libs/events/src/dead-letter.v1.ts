import { topicSpec } from './topics';

/**
 * Messages a consumer can never process land here, unchanged (same key, same value), with
 * headers saying where they came from and why they failed, so that nothing is lost and an
 * operator can replay them once the cause is fixed.
 */
export const DEAD_LETTER_V1 = topicSpec({
  topic: 'imaging.dead-letter.v1',
  partitions: 3,
  cleanupPolicy: 'delete',
  headers: {
    sourceTopic: 'x-dlq-source-topic',
    sourcePartition: 'x-dlq-source-partition',
    sourceOffset: 'x-dlq-source-offset',
    consumerGroup: 'x-dlq-consumer-group',
    reason: 'x-dlq-reason',
    failedAt: 'x-dlq-failed-at',
  },
} as const);
