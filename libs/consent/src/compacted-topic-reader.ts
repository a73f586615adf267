import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import { ensureTopics } from '@imaging-facade/kafka';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';

/** One record of a compacted topic, handed over in partition order. A null value is a tombstone. */
export interface TopicRecord {
  key: string | null;
  value: Buffer | null;
  partition: number;
  offset: string;
}

export interface CompactedTopicReaderOptions {
  kafka: Kafka;
  topic: string;
  /** Prefix of the consumer group; a unique suffix is added per reader, so every reader gets every partition. */
  groupIdPrefix: string;
  logger: Logger;
  apply: (record: TopicRecord) => void;
}

/**
 * Reads a whole compacted topic into memory and keeps following it: a consumer in a group of its
 * own (unique per process), from the beginning, committing nothing. It knows when it has caught up
 * with the end of every partition as it was at start (`ready()`), which is when the materialized
 * state is as complete as the topic was when the process started.
 */
export class CompactedTopicReader {
  private consumer: Consumer | undefined;
  private readonly remaining = new Map<number, bigint>();
  private caughtUp = false;
  private failure: Error | undefined;
  private readonly readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  readonly groupId: string;

  constructor(private readonly options: CompactedTopicReaderOptions) {
    this.groupId = `${options.groupIdPrefix}-${hostname()}-${process.pid}-${randomUUID()}`;
  }

  async start(): Promise<void> {
    const { kafka, topic, logger } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    try {
      // A reader may start before the topic's writer: the topic is then created as the writer would.
      await ensureTopics(admin, [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
      // The end of each partition now: once consumed up to there, the view is complete.
      for (const partition of await admin.fetchTopicOffsets(topic)) {
        const high = BigInt(partition.high);
        if (high > BigInt(partition.low)) {
          this.remaining.set(partition.partition, high);
        }
      }
    } finally {
      await admin.disconnect();
    }
    this.checkCaughtUp();

    const consumer = kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) {
        this.fail(new Error(`the reader of ${topic} stopped: ${errorMessage(event.payload.error)}`));
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          try {
            this.options.apply({
              key: message.key?.toString('utf8') ?? null,
              value: message.value,
              partition: batch.partition,
              offset: message.offset,
            });
          } catch (error) {
            // A record that cannot be applied is skipped, never retried forever (it would block the partition).
            logger.error({ topic, partition: batch.partition, offset: message.offset, reason: errorMessage(error) }, 'record skipped');
          }
        }
        this.progress(batch.partition, BigInt(batch.lastOffset()) + 1n);
      },
    });
    logger.info({ topic, groupId: this.groupId, partitionsToRead: this.remaining.size }, 'reading the compacted topic from the beginning');
  }

  /** Resolves once the reader has consumed every partition up to where it ended at start. */
  ready(): Promise<void> {
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    if (this.caughtUp) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  isReady(): boolean {
    return this.caughtUp && this.failure === undefined;
  }

  /** Why the reader stopped for good, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private progress(partition: number, nextOffset: bigint): void {
    const end = this.remaining.get(partition);
    if (end !== undefined && nextOffset >= end) {
      this.remaining.delete(partition);
      this.checkCaughtUp();
    }
  }

  private checkCaughtUp(): void {
    if (this.caughtUp || this.remaining.size > 0) {
      return;
    }
    this.caughtUp = true;
    this.options.logger.info({ topic: this.options.topic }, 'caught up with the compacted topic');
    for (const waiter of this.readyWaiters.splice(0)) {
      waiter.resolve();
    }
  }

  private fail(error: Error): void {
    this.failure = error;
    this.options.logger.error({ topic: this.options.topic, reason: error.message }, 'compacted topic reader failed');
    for (const waiter of this.readyWaiters.splice(0)) {
      waiter.reject(error);
    }
  }
}
