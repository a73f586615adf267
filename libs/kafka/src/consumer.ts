import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { z } from 'zod';
import { DEAD_LETTER_V1 } from '@imaging-facade/events';
import { errorMessage, retry, type Logger } from '@imaging-facade/service-kit';
import { FETCH_WAIT_MS } from './client';
import { restartAfterFatalCrash } from './consumer-restart';
import { StalledMessages } from './consumer-stall';

export { DEFAULT_STALLED_AFTER_MS, StalledMessages } from './consumer-stall';
import type { EventPublisher } from './publisher';

/** Context given to a handler: where the message came from, and a logger keyed by it. */
export interface MessageContext {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  logger: Logger;
}

export interface ValidatedConsumerOptions<S extends z.ZodType> {
  consumer: Consumer;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  schema: S;
  publisher: EventPublisher;
  logger: Logger;
  metrics: Registry;
  handle: (event: z.infer<S>, context: MessageContext) => Promise<void>;
  /** True for failures that may pass (a server down, a conflict): retried with backoff, never dead-lettered. */
  isRetryable: (error: unknown) => boolean;
  retry?: { initialMs: number; maxMs: number };
  /**
   * How many partitions are handled at once (kafkajs's partitionsConsumedConcurrently): the messages
   * of different partitions fetched together are handled side by side, each partition still one
   * message at a time, in order. 1 by default. Handlers must then tolerate concurrent calls for
   * different keys.
   */
  partitionsConcurrently?: number;
  /**
   * Where the messages being retried are tracked, for a `/readyz` check (`stalled.readiness(…)`)
   * created before the consumer starts; one of its own (5 minutes) otherwise.
   */
  stalled?: StalledMessages;
}

export type Outcome = 'processed' | 'dead-lettered' | 'retried';

/**
 * Consumes a topic one message at a time per partition with at-least-once delivery. Every message
 * is validated at the boundary: one that does not parse, or whose handling fails permanently, goes
 * to the dead-letter topic with its reason and the partition moves on; one whose handling fails for
 * a passing reason is retried with backoff until it succeeds or the service stops (its offset is
 * then not committed, so it is handled again after a restart).
 */
export async function runValidatedConsumer<S extends z.ZodType>(
  options: ValidatedConsumerOptions<S>,
): Promise<{ stop: () => Promise<void>; stalled: StalledMessages }> {
  const { consumer, logger } = options;
  const retryDelays = options.retry ?? { initialMs: 500, maxMs: 30_000 };
  const stopping = new AbortController();
  const stalled = options.stalled ?? new StalledMessages();
  const outcomes = new Counter({
    name: 'facade_consumed_messages_total',
    help: 'Messages consumed, by topic and outcome',
    labelNames: ['topic', 'outcome'] as const,
    registers: [options.metrics],
  });

  const subscribeAndRun = async (): Promise<void> => {
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
      eachMessage: async ({ topic, partition, message, heartbeat }) => {
        const key = message.key?.toString('utf8') ?? null;
        const context: MessageContext = {
          topic,
          partition,
          offset: message.offset,
          key,
          logger: logger.child({ topic, partition, offset: message.offset, key }),
        };

        const parsed = parse(options.schema, message);
        if (!parsed.ok) {
          await deadLetter(options, context, message, `invalid event: ${parsed.reason}`);
          outcomes.inc({ topic, outcome: 'dead-lettered' });
          return;
        }

        try {
          await retry(() => options.handle(parsed.value, context), {
            ...retryDelays,
            isRetryable: options.isRetryable,
            signal: stopping.signal,
            onRetry: async ({ attempt, delayMs, error }) => {
              stalled.retried(topic, partition, message.offset);
              context.logger.warn({ attempt, delayMs, reason: errorMessage(error) }, 'handling failed, will retry');
              outcomes.inc({ topic, outcome: 'retried' });
              await heartbeat();
            },
          });
          outcomes.inc({ topic, outcome: 'processed' });
        } catch (error) {
          if (options.isRetryable(error)) {
            // Stopping while retrying: leave the offset uncommitted, the message is handled again after the restart.
            throw new Error(`stopping while retrying offset ${message.offset}`);
          }
          await deadLetter(options, context, message, errorMessage(error));
          outcomes.inc({ topic, outcome: 'dead-lettered' });
        } finally {
          stalled.settled(topic, partition);
        }
      },
    });
  };
  // From the committed offsets again: what was handled but not committed is handled once more.
  restartAfterFatalCrash(consumer, { run: subscribeAndRun, logger, signal: stopping.signal });
  await subscribeAndRun();

  return {
    stop: async () => {
      stopping.abort();
      await consumer.disconnect();
    },
    stalled,
  };
}

function parse<S extends z.ZodType>(
  schema: S,
  message: KafkaMessage,
): { ok: true; value: z.infer<S> } | { ok: false; reason: string } {
  if (!message.value) {
    return { ok: false, reason: 'empty message' };
  }
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'value is not JSON' };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    // Issue paths and messages only: the received values may hold patient data.
    const reason = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return { ok: false, reason };
  }
  return { ok: true, value: result.data };
}

async function deadLetter<S extends z.ZodType>(
  options: ValidatedConsumerOptions<S>,
  context: MessageContext,
  message: KafkaMessage,
  reason: string,
): Promise<void> {
  const headers = DEAD_LETTER_V1.headers;
  await options.publisher.send(options.deadLetterTopic, message.key, message.value, {
    ...message.headers,
    [headers.sourceTopic]: context.topic,
    [headers.sourcePartition]: String(context.partition),
    [headers.sourceOffset]: context.offset,
    [headers.consumerGroup]: options.groupId,
    [headers.reason]: reason,
    [headers.failedAt]: new Date().toISOString(),
  });
  context.logger.error({ reason }, 'message sent to the dead-letter topic');
}

/** A consumer of its own group, connected, running `runValidatedConsumer`; disconnected again if it cannot start. */
export async function startValidatedConsumer<S extends z.ZodType>(
  kafka: Kafka,
  options: Omit<ValidatedConsumerOptions<S>, 'consumer'>,
): Promise<{ stop: () => Promise<void>; stalled: StalledMessages }> {
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: FETCH_WAIT_MS });
  await consumer.connect();
  try {
    return await runValidatedConsumer({ ...options, consumer });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
}
