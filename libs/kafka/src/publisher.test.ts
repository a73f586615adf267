import { CompressionTypes, type Producer, type ProducerRecord } from 'kafkajs';
import { makeEvent } from '@imaging-facade/events';
import { COMPRESSION_THRESHOLD_BYTES, EventPublisher } from './publisher';

/** Records what would be sent; the real broker is exercised by consumer.int.test.ts and the e2e suites. */
function recordingProducer(): { producer: Producer; sent: ProducerRecord[] } {
  const sent: ProducerRecord[] = [];
  const producer = { send: async (record: ProducerRecord) => void sent.push(record) } as unknown as Producer;
  return { producer, sent };
}

describe('EventPublisher', () => {
  test.each([
    ['a small instance event goes uncompressed', 200, CompressionTypes.None],
    ['a study snapshot above the threshold is gzipped', COMPRESSION_THRESHOLD_BYTES + 1, CompressionTypes.GZIP],
  ])('%s', async (_situation, payloadBytes, compression) => {
    const { producer, sent } = recordingProducer();
    await new EventPublisher(producer).publish('topic', '1.2.3', makeEvent('type', 'urn:test', '1.2.3', 'x'.repeat(payloadBytes)));
    expect(sent[0].compression).toBe(compression);
  });

  test('every publish waits for all in-sync replicas and says it is a CloudEvent', async () => {
    const { producer, sent } = recordingProducer();
    await new EventPublisher(producer).publish('topic', '1.2.3', makeEvent('type', 'urn:test', '1.2.3', {}));
    expect(sent[0]).toMatchObject({ topic: 'topic', acks: -1 });
    expect(sent[0].messages[0]).toMatchObject({ key: '1.2.3', headers: { 'content-type': 'application/cloudevents+json' } });
  });
});
