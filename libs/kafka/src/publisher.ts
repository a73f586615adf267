import { CompressionTypes, type IHeaders, type Producer } from 'kafkajs';
import { CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from '@imaging-facade/events';

/**
 * Below this size a message goes uncompressed: gzip costs about a millisecond of CPU per message,
 * which is most of a small event's cost on the C-STORE path, and saves almost nothing. Study
 * snapshots (tens to hundreds of KB) are compressed about tenfold.
 */
export const COMPRESSION_THRESHOLD_BYTES = 16 * 1024;

/**
 * Publishes events durably: a publish resolves only once every in-sync replica has the message
 * (acks = -1), so a caller may acknowledge its own peer afterwards.
 */
export class EventPublisher {
  constructor(private readonly producer: Producer) {}

  async publish<T>(topic: string, key: string, event: CloudEvent<T>): Promise<void> {
    await this.send(topic, key, JSON.stringify(event), { 'content-type': CLOUDEVENTS_CONTENT_TYPE });
  }

  /**
   * Several events under one key in one request (one round trip, one partition, kept in order):
   * for an outbox draining what piled up.
   */
  async publishAll<T>(topic: string, key: string, events: ReadonlyArray<CloudEvent<T>>): Promise<void> {
    if (events.length === 0) {
      return;
    }
    const values = events.map((event) => JSON.stringify(event));
    const size = values.reduce((sum, value) => sum + Buffer.byteLength(value), 0);
    await this.producer.send({
      topic,
      acks: -1,
      compression: size >= COMPRESSION_THRESHOLD_BYTES ? CompressionTypes.GZIP : CompressionTypes.None,
      messages: values.map((value) => ({ key, value, headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE } })),
    });
  }

  /** Sends a message as it is: used to move a message that failed to the dead-letter topic. */
  async send(topic: string, key: string | Buffer | null, value: string | Buffer | null, headers: IHeaders): Promise<void> {
    const size = value === null ? 0 : Buffer.byteLength(value);
    await this.producer.send({
      topic,
      acks: -1,
      compression: size >= COMPRESSION_THRESHOLD_BYTES ? CompressionTypes.GZIP : CompressionTypes.None,
      messages: [{ key, value, headers }],
    });
  }
}
