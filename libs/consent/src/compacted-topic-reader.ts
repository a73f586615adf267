import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import { topicName, type TopicSpec } from '@imaging-facade/events';
import { ensureTopics, FETCH_WAIT_MS, restartAfterFatalCrash } from '@imaging-facade/kafka';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import { startingPoints, type SavedReadPosition } from './read-position';

/** One record of a compacted topic, handed over in partition order. A null value is a tombstone. */
export interface TopicRecord {
  key: string | null;
  value: Buffer | null;
  partition: number;
  offset: string;
}

export interface CompactedTopicReaderOptions {
  kafka: Kafka;
  /** The topic's specification (libs/events), to create it as its writer would when it is not there yet. */
  spec: TopicSpec;
  topicPrefix: string;
  /** Prefix of the consumer group; a unique suffix is added per reader, so every reader gets every partition. */
  groupIdPrefix: string;
  logger: Logger;
  apply: (record: TopicRecord) => void;
  /** Where a view kept on disk saved how far it read: it reads on from there. Without it, from the beginning. */
  position?: SavedReadPosition;
}

/**
 * Reads a whole compacted topic and keeps following it: a consumer in a group of its own (unique
 * per process), committing nothing to Kafka, from the beginning or from the position the view saved
 * with its state. It knows when it has caught up with the end of every partition as it was at start
 * (`ready()`), which is when the materialized state is as complete as the topic was when the process
 * started.
 */
export class CompactedTopicReader {
  private consumer: Consumer | undefined;
  private readonly remaining = new Map<number, bigint>();
  private caughtUp = false;
  private interruption: Error | undefined;
  /** Per partition, the offset of the next record to apply: where a restarted consumer goes on. */
  private readonly next = new Map<number, bigint>();
  private readonly stopping = new AbortController();
  private readonly readyWaiters: Array<() => void> = [];
  private read = 0;
  readonly groupId: string;

  readonly topic: string;

  constructor(private readonly options: CompactedTopicReaderOptions) {
    this.topic = topicName(options.spec.topic, options.topicPrefix);
    this.groupId = `${options.groupIdPrefix}-${hostname()}-${process.pid}-${randomUUID()}`;
  }

  async start(): Promise<void> {
    const { kafka, topic, logger } = { ...this.options, topic: this.topic };
    const admin = kafka.admin();
    await admin.connect();
    try {
      // A reader may start before the topic's writer: the topic is then created as the writer would.
      await ensureTopics(admin, [this.options.spec], this.options.topicPrefix, logger);
      // The end of each partition now: once consumed up to there, the view is complete.
      const partitions = (await admin.fetchTopicOffsets(topic)).map((bound) => ({ partition: bound.partition, low: BigInt(bound.low), high: BigInt(bound.high) }));
      const { position } = this.options;
      const { reset, from } = startingPoints(position?.load() ?? new Map(), partitions);
      if (reset) {
        logger.warn({ topic }, 'the saved state was not read from this topic as it is now: it is read again from the beginning');
        position?.reset();
      }
      for (const { partition, low, high } of partitions) {
        if (high > (from.get(partition) ?? low)) {
          this.remaining.set(partition, high);
        }
      }
      for (const [partition, offset] of from) {
        this.next.set(partition, offset);
      }
    } finally {
      await admin.disconnect();
    }
    this.checkCaughtUp();

    const consumer = kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: FETCH_WAIT_MS });
    this.consumer = consumer;
    restartAfterFatalCrash(consumer, {
      // Where it stopped, not from the beginning: replaying older records would show older states.
      run: () => this.runFromNext(consumer),
      logger,
      signal: this.stopping.signal,
      onStopped: (error) => (this.interruption = new Error(`the reader of ${topic} stopped: ${errorMessage(error)}`)),
      onRunning: () => (this.interruption = undefined),
    });
    await consumer.connect();
    await this.runFromNext(consumer);
    logger.info({ topic, groupId: this.groupId, partitionsToRead: this.remaining.size, readingOnFromSavedPosition: this.next.size > 0 }, 'reading the compacted topic');
  }

  /** Runs the consumer from where each partition is to be read next (the beginning when not known). */
  private async runFromNext(consumer: Consumer): Promise<void> {
    await this.subscribeAndRun(consumer);
    for (const [partition, offset] of this.next) {
      consumer.seek({ topic: this.topic, partition, offset: offset.toString() });
    }
  }

  private async subscribeAndRun(consumer: Consumer): Promise<void> {
    const { logger } = this.options;
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const applyRecords = () => {
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
              logger.error({ topic: this.topic, partition: batch.partition, offset: message.offset, reason: errorMessage(error) }, 'record skipped');
            }
          }
        };
        const nextOffset = BigInt(batch.lastOffset()) + 1n;
        if (this.options.position) {
          this.options.position.saveWith(batch.partition, nextOffset, applyRecords);
        } else {
          applyRecords();
        }
        this.read += batch.messages.length;
        this.progress(batch.partition, nextOffset);
      },
    });
  }

  /** Resolves once the reader has consumed every partition up to where it ended at start. */
  ready(): Promise<void> {
    if (this.caughtUp) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Caught up and following the topic: not once stopped (a view kept on disk closes its file then). */
  isReady(): boolean {
    return this.caughtUp && this.error === undefined && !this.stopping.signal.aborted;
  }

  /** Records read since start: the whole topic, or what came after the saved position. */
  get recordsRead(): number {
    return this.read;
  }

  /** Why the reader does not follow the topic now (it stopped and is being started again), if so. */
  get error(): Error | undefined {
    return this.interruption;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private progress(partition: number, nextOffset: bigint): void {
    this.next.set(partition, nextOffset);
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
    this.options.logger.info({ topic: this.topic, recordsRead: this.read }, 'caught up with the compacted topic');
    for (const resolve of this.readyWaiters.splice(0)) {
      resolve();
    }
  }
}

/**
 * What a view built on one compacted topic offers its service: start and stop it, and know when it
 * has read the topic to the end (readiness), and whether it follows it now.
 */
export abstract class CompactedTopicView {
  protected abstract readonly reader: CompactedTopicReader;

  start(): Promise<void> {
    return this.reader.start();
  }

  ready(): Promise<void> {
    return this.reader.ready();
  }

  isReady(): boolean {
    return this.reader.isReady();
  }

  get error(): Error | undefined {
    return this.reader.error;
  }

  get recordsRead(): number {
    return this.reader.recordsRead;
  }

  stop(): Promise<void> {
    return this.reader.stop();
  }
}
