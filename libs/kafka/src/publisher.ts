import { CompressionTypes, type IHeaders, type Producer } from 'kafkajs';
import { CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from '@imaging-facade/events';

/**
 * Publishes events durably: a publish resolves only once every in-sync replica has the message
 * (acks = -1), so a caller may acknowledge its own peer afterwards.
 */
export class EventPublisher {
  constructor(private readonly producer: Producer) {}

  async publish<T>(topic: string, key: string, event: CloudEvent<T>): Promise<void> {
    await this.send(topic, key, JSON.stringify(event), { 'content-type': CLOUDEVENTS_CONTENT_TYPE });
  }

  /** Sends a message as it is: used to move a message that failed to the dead-letter topic. */
  async send(topic: string, key: string | Buffer | null, value: string | Buffer | null, headers: IHeaders): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [{ key, value, headers }],
    });
  }
}
