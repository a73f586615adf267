import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Every event travels in a CloudEvents 1.0 envelope, in structured mode (the whole envelope is the
 * Kafka message value, `content-type: application/cloudevents+json`).
 */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export interface CloudEvent<T> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
}

export function envelopeSchema<T extends z.ZodType>(type: string, data: T) {
  return z.object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.literal(type),
    subject: z.string().min(1),
    time: z.iso.datetime({ offset: true }),
    datacontenttype: z.literal('application/json'),
    data,
  });
}

export function makeEvent<T>(type: string, source: string, subject: string, data: T): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type,
    subject,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}
